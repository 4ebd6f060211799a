package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/agent"
)

// The causes of 600 failing certificates, as the agent records them.
var (
	causeForbidden = "HTTP 403 ForbiddenByPolicy: the vault's access policies do not let this identity read secrets: give it secrets get and list in an access policy (or switch the vault to Azure RBAC and assign the Key Vault Secrets User role) (identity: user-assigned identity 8d3a0f61-5c2e-4f7b-9a41-2b6c0e9d7f10 at http://169.254.169.254/metadata/identity/oauth2/token)"
	causeReset     = "connection to other.vault.azure.net closed by the peer before any response arrived (EOF): a proxy, firewall or load balancer on the way may be cutting connections; akvvm retries"
	causeMissing   = "HTTP 404 SecretNotFound: check the secret name and version in observedCertificates"
)

func manyFailing(n int) agent.Status {
	st := agent.Status{Phase: agent.Error, Message: "initial sync failed: …", Updated: now}
	for i := range n {
		cause, vault := causeForbidden, "v"
		switch {
		case i%3 == 1:
			cause, vault = causeReset, "other"
		case i%50 == 0:
			cause = causeMissing
		}
		name := fmt.Sprintf("certificate-with-a-long-name-%03d", i)
		st.Certificates = append(st.Certificates, agent.CertStatus{
			Key: vault + "/" + name, URL: "https://" + vault + ".vault.azure.net/secrets/" + name, Fatal: true, Attempts: 25,
			LastError: "key vault: list versions of secret " + name + " in https://" + vault + ".vault.azure.net: " + cause, Cause: cause,
		})
	}
	for i := range 40 {
		st.Certificates = append(st.Certificates, agent.CertStatus{Key: fmt.Sprintf("v/ok%d", i), URL: fmt.Sprintf("https://v.vault.azure.net/secrets/ok%d", i),
			InstalledVersion: "0123456789abcdef0123456789abcdef", Thumbprint: strings.Repeat("AB", 20), NotAfter: now, Location: "/var/lib/store/v.ok"})
	}
	return st
}

// 600 failing certificates with three causes: the file stays under the
// guest agent's limit, every cause is there whole, with how many
// certificates it hit and their names; nothing is cut inside a cause.
func TestEncodeSummarisesByCause(t *testing.T) {
	st := manyFailing(600)
	full, err := encode(FromAgent("x", st))
	if err != nil {
		t.Fatal(err)
	}
	data, err := Encode(FromAgent("x", st))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("600 failing + 40 installed certificates: %d bytes one by one, %d bytes summarised", len(full), len(data))
	if len(full) <= MaxStatusSize {
		t.Fatalf("the test's list (%d bytes) fits without a summary", len(full))
	}
	if len(data) > MaxStatusSize {
		t.Fatalf("%d bytes, limit %d", len(data), MaxStatusSize)
	}
	var list []StatusItem
	if err := json.Unmarshal(data, &list); err != nil || len(list) != 1 {
		t.Fatalf("not a one-element array: %v", err)
	}
	b := list[0].Status
	if b.Status != StatusError {
		t.Errorf("status %q", b.Status)
	}
	want := map[string]int{causeForbidden: 392, causeReset: 200, causeMissing: 8}
	found := map[string]bool{}
	for _, s := range b.SubStatus {
		for cause, n := range want {
			if !strings.Contains(s.FormattedMessage.Message, cause) {
				continue
			}
			found[cause] = true
			head := fmt.Sprintf("%d certificates gave up after 25 attempts: %s; certificates: ", n, cause)
			if !strings.HasPrefix(s.FormattedMessage.Message, head) || s.Status != StatusError || s.Code != 1 {
				t.Errorf("entry %q %s: want it to start %q", s.Name, s.Status, head)
			}
			if !strings.Contains(s.FormattedMessage.Message, "https://v.vault.azure.net/secrets/certificate-with-a-long-name-") &&
				!strings.Contains(s.FormattedMessage.Message, "https://other.vault.azure.net/secrets/certificate-with-a-long-name-") {
				t.Errorf("entry %q names no certificate", s.Name)
			}
		}
		if strings.Contains(s.FormattedMessage.Message, "truncated") {
			t.Errorf("entry %q was cut: %s", s.Name, s.FormattedMessage.Message)
		}
	}
	for cause := range want {
		if !found[cause] {
			t.Errorf("cause missing from the file: %s", cause)
		}
	}
	// Every certificate is either named, counted as not listed, or installed and listed.
	names, installed := 0, 0
	for _, s := range b.SubStatus {
		names += strings.Count(s.FormattedMessage.Message, "https://")
		if s.Status == StatusSuccess && strings.HasPrefix(s.Name, "https://") {
			installed++
		}
	}
	if last := b.SubStatus[len(b.SubStatus)-1]; names+installed < 640 && (last.Status != StatusError || !strings.Contains(last.FormattedMessage.Message, fmt.Sprintf("%d more certificates are not listed here: run akvvm status", 640-names-installed))) {
		t.Errorf("%d certificates named and %d listed as installed of 640, and no note about the rest", names, installed)
	}
}

// Many certificates with different long causes: each cause kept is whole,
// and those that do not fit are counted.
func TestEncodeCountsCausesLeftOut(t *testing.T) {
	st := agent.Status{Phase: agent.Transitioning, Updated: now}
	for i := range 400 {
		cause := fmt.Sprintf("cause %03d: %s", i, strings.Repeat("long words ", 60))
		st.Certificates = append(st.Certificates, agent.CertStatus{Key: fmt.Sprint(i), URL: fmt.Sprintf("https://v.vault.azure.net/secrets/c%d", i),
			Attempts: 3, LastError: cause})
	}
	data, err := Encode(FromAgent("x", st))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > MaxStatusSize {
		t.Fatalf("%d bytes", len(data))
	}
	var list []StatusItem
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	subs := list[0].Status.SubStatus
	last := subs[len(subs)-1]
	if last.Name != "more" || !strings.Contains(last.FormattedMessage.Message, fmt.Sprintf("%d more certificates are not listed here", 400-(len(subs)-1))) {
		t.Errorf("last entry %+v of %d", last, len(subs))
	}
	for _, s := range subs[:len(subs)-1] {
		if !strings.HasSuffix(s.FormattedMessage.Message, strings.Repeat("long words ", 60)) {
			t.Fatalf("entry %s cut: %q", s.Name, s.FormattedMessage.Message)
		}
	}
}

// Warnings about the settings are a warning substatus, in the service's
// status and in enable's.
func TestSettingsWarningsAreASubstatus(t *testing.T) {
	st := agent.Status{Phase: agent.Success, Message: "1 of 1 certificates installed", Updated: now,
		Warnings: []string{"the settings are a JSON string that contains the settings object (double-encoded); akvvm decoded it. Pass the object itself."}}
	subs := FromAgent("x", st).Status.SubStatus
	if len(subs) != 1 || subs[0].Name != SettingsWarningName || subs[0].Status != StatusWarning || !strings.Contains(subs[0].FormattedMessage.Message, "double-encoded") {
		t.Errorf("substatus = %+v", subs)
	}

	h, _, vars := newTestHandler(t, "3.0.1")
	public := `{"secretsManagementSettings":{"observedCertificates":[{"url":"https://myvault.vault.azure.net/secrets/web","certificateStoreLocation":"/store"}]}}`
	quoted, _ := json.Marshal(public)
	writeSettings(t, h, 2, `{"runtimeSettings":[{"handlerSettings":{"publicSettings":`+string(quoted)+`}}]}`)
	vars[SeqEnv] = "2"
	if _, err := h.Enable(context.Background()); err != nil {
		t.Fatal(err)
	}
	item, err := ReadStatus(h.Env.StatusFolder, 2)
	if err != nil {
		t.Fatal(err)
	}
	subs = item.Status.SubStatus
	if item.Status.Status != StatusTransitioning || len(subs) != 1 || subs[0].Status != StatusWarning ||
		!strings.Contains(subs[0].FormattedMessage.Message, "double-encoded") || strings.Contains(subs[0].FormattedMessage.Message, "runtimeSettings") {
		t.Errorf("enable status = %+v", item.Status)
	}
}

// An invalid setting's path in the error status is the operator's, not
// the guest agent file's.
func TestEnableErrorNamesTheOperatorsPath(t *testing.T) {
	h, _, vars := newTestHandler(t, "3.0.1")
	writeSettings(t, h, 3, settingsJSON("/store", "https://myvault.vault.azure.net/secrets/a", "https://myvault.vault.azure.net/certificates/b"))
	vars[SeqEnv] = "3"
	if _, err := h.Enable(context.Background()); err == nil {
		t.Fatal("enable succeeded")
	}
	item, err := ReadStatus(h.Env.StatusFolder, 3)
	if err != nil {
		t.Fatal(err)
	}
	msg := item.Status.FormattedMessage.Message
	if !strings.Contains(msg, "\nsecretsManagementSettings.observedCertificates[1].url: ") || strings.Contains(msg, "runtimeSettings") || strings.Contains(msg, "publicSettings") {
		t.Errorf("message %q", msg)
	}
}
