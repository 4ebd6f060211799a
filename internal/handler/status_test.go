package handler

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/akvvm/akvvm/internal/agent"
)

var now = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func TestFromAgent(t *testing.T) {
	expiry := now.Add(90 * 24 * time.Hour)
	st := agent.Status{
		Phase: agent.Error, Message: "initial sync failed: v/locked: 403 Forbidden", Identity: "user-assigned identity abc", Updated: now,
		Certificates: []agent.CertStatus{
			{Key: "v/web", URL: "https://v.vault.azure.net/secrets/web", InstalledVersion: "0123", Thumbprint: "AB12", NotAfter: expiry, Location: "/store/v.web"},
			{Key: "v/locked", URL: "https://v.vault.azure.net/secrets/locked", Attempts: 25, LastError: "403 Forbidden", Fatal: true},
			{Key: "v/new", URL: "https://v.vault.azure.net/secrets/new", Attempts: 2, LastError: "503"},
			{Key: "v/old", URL: "https://v.vault.azure.net/secrets/old", InstalledVersion: "9", LastError: "timeout", Attempts: 1},
		},
	}
	item := FromAgent("Microsoft.Azure.KeyVault.KeyVaultForLinux", st)
	b := item.Status
	if b.Status != StatusError || b.Code == 0 || b.Operation != "Enable" || item.TimestampUTC != "2026-05-01T10:00:00Z" {
		t.Errorf("status = %+v", item)
	}
	if !strings.HasPrefix(b.FormattedMessage.Message, "Enable failed: ") || !strings.Contains(b.FormattedMessage.Message, "403") ||
		!strings.Contains(b.FormattedMessage.Message, "user-assigned identity abc") {
		t.Errorf("message = %q", b.FormattedMessage.Message)
	}
	want := []struct{ status, contains string }{
		{StatusSuccess, "installed version 0123, thumbprint AB12, expires " + expiry.Format(time.RFC3339)},
		{StatusError, "gave up after 25 attempts: 403 Forbidden"},
		{StatusTransitioning, "attempt 2 failed: 503"},
		{StatusWarning, "last check failed"},
	}
	if len(b.SubStatus) != len(want) {
		t.Fatalf("substatus = %+v", b.SubStatus)
	}
	for i, w := range want {
		s := b.SubStatus[i]
		if s.Status != w.status || !strings.Contains(s.FormattedMessage.Message, w.contains) || s.Name != st.Certificates[i].URL || s.FormattedMessage.Lang != "en-US" {
			t.Errorf("substatus %d = %+v, want %s containing %q", i, s, w.status, w.contains)
		}
	}
	for phase, prefix := range map[agent.Phase]string{agent.Success: "Enable succeeded: ", agent.Transitioning: "Enable in progress: "} {
		st.Phase = phase
		if m := FromAgent("x", st).Status.FormattedMessage.Message; !strings.HasPrefix(m, prefix) {
			t.Errorf("%s message = %q", phase, m)
		}
	}
}

func TestEncodeStaysUnderTheSizeLimit(t *testing.T) {
	for _, n := range []int{1, 40, 1200} {
		st := agent.Status{Phase: agent.Transitioning, Message: strings.Repeat("m", 5000), Updated: now}
		for i := range n {
			st.Certificates = append(st.Certificates, agent.CertStatus{
				Key: "v/c", URL: "https://v.vault.azure.net/secrets/c" + strings.Repeat("x", 100),
				LastError: strings.Repeat("é<&>", 2000), Attempts: i + 1,
			})
		}
		data, err := Encode(FromAgent("x", st))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > MaxStatusSize {
			t.Errorf("%d certificates: %d bytes, limit %d", n, len(data), MaxStatusSize)
		}
		var list []StatusItem
		if err := json.Unmarshal(data, &list); err != nil || len(list) != 1 {
			t.Fatalf("%d certificates: not a one-element array: %v", n, err)
		}
		b := list[0].Status
		if b.Status != StatusTransitioning || len(b.SubStatus) == 0 {
			t.Errorf("%d certificates: status %q with %d substatus", n, b.Status, len(b.SubStatus))
		}
		for _, s := range b.SubStatus {
			if !utf8.ValidString(s.FormattedMessage.Message) {
				t.Fatalf("%d certificates: message cut inside a character", n)
			}
		}
		if n == 1200 && !strings.Contains(b.SubStatus[len(b.SubStatus)-1].FormattedMessage.Message, "more certificates are not listed") {
			t.Errorf("1200 certificates: no note about those left out")
		}
	}
}

func TestWriteAndReadStatus(t *testing.T) {
	dir := tempDir(t)
	item := NewStatus("n", "Disable", StatusSuccess, 0, "stopped", now)
	if err := WriteStatus(dir, 4, item); err != nil {
		t.Fatal(err)
	}
	got, err := ReadStatus(dir, 4)
	if err != nil || got.Status.FormattedMessage.Message != "Disable succeeded: stopped" || got.Version != 1 {
		t.Errorf("ReadStatus = %+v, %v", got, err)
	}
}

// A certificate near its expiry is a warning substatus naming the date;
// the overall status stays success, a terminal state for the guest agent,
// and its message carries the agent's warning.
func TestFromAgentValidityWarning(t *testing.T) {
	expiry := now.Add(10 * 24 * time.Hour)
	text := "version 0123 expires on " + expiry.Format(time.RFC3339) + " (in 10 days) and the vault offers no newer usable version: renew or rotate the certificate in Key Vault"
	st := agent.Status{Phase: agent.Success, Message: "1 of 1 certificates installed; warning: v/web: " + text, Updated: now,
		Certificates: []agent.CertStatus{{Key: "v/web", URL: "https://v.vault.azure.net/secrets/web", InstalledVersion: "0123",
			Thumbprint: "AB12", NotAfter: expiry, Location: "/store/v.web", ValidityWarning: text}}}
	b := FromAgent("x", st).Status
	if b.Status != StatusSuccess || b.Code != 0 || !strings.Contains(b.FormattedMessage.Message, "warning: v/web: version 0123 expires on 2026-05-11T10:00:00Z") {
		t.Errorf("overall %s %d %q", b.Status, b.Code, b.FormattedMessage.Message)
	}
	s := b.SubStatus[0]
	if s.Status != StatusWarning || s.Code != 0 || !strings.Contains(s.FormattedMessage.Message, "; warning: "+text) ||
		!strings.Contains(s.FormattedMessage.Message, "installed version 0123") {
		t.Errorf("substatus %+v", s)
	}
	st.Certificates[0].ValidityWarning = ""
	if s := FromAgent("x", st).Status.SubStatus[0]; s.Status != StatusSuccess {
		t.Errorf("without the warning: %s", s.Status)
	}
}
