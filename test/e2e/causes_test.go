//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/handler"
)

// A pinned version disabled in the vault is answered 403 with the inner
// code SecretDisabled: akvvm status says the version is disabled, with
// that code, and does not send the operator to the identity's permissions.
func TestDisabledVersionIsReportedAsDisabled(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "disvault")
	if err := e.admin.AddIdentity(t.Context(), appID); err != nil {
		t.Fatal(err)
	}
	v1 := e.create(t, "disvault", "web", emulator.CertificateSpec{})
	nextSecond()
	e.rotate(t, "disvault", "web")
	if err := e.admin.SetSecretEnabled(t.Context(), "disvault", "web", v1.Version, false); err != nil {
		t.Fatal(err)
	}
	b := newBox(t)
	b.writeSettingsWith(t, e, nil, map[string]any{"msiClientId": appID},
		map[string]any{"url": "https://disvault.vault.azure.net/secrets/web/" + v1.Version})
	out, _ := b.sync(t, e)

	s := b.status(t)
	c := certStatus(t, s, "disvault/web")
	t.Logf("last error: %s", c.LastError)
	if c.HTTPStatus != 403 || c.ErrorCode != "SecretDisabled" {
		t.Errorf("status cause HTTP %d %q, want 403 SecretDisabled", c.HTTPStatus, c.ErrorCode)
	}
	for _, text := range []string{c.LastError, s.Message, out} {
		if !contains(text, "version "+v1.Version+" is disabled in the vault; enable it there", "pin another version") {
			t.Errorf("%q does not say the pinned version is disabled and what to do", text)
		}
		if contains(text, "lacks access") || contains(text, "grant") || contains(text, "(identity: ") {
			t.Errorf("%q sends the operator to the identity's permissions", text)
		}
	}
}

// A vault connection reset and a body cut short are named as such, with
// the vault's host, in akvvm status; not only "EOF".
func TestConnectionFailuresAreNamedWithTheHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		kind emulator.FaultKind
		// any of want
		want []string
	}{
		// Over HTTP/2 Go reports a connection that ends under an open
		// request as an unexpected EOF, as on a new connection the reset
		// can meet a write of its opening frames first.
		{"reset", emulator.FaultReset, []string{
			"connection to netvault.vault.azure.net reset by the peer",
			"connection to netvault.vault.azure.net closed by the peer before any response arrived (EOF)",
			"connection to netvault.vault.azure.net closed before the response was complete (unexpected EOF)"}},
		{"truncated body", emulator.FaultTruncate, []string{
			"connection to netvault.vault.azure.net closed before the response was complete (unexpected EOF)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startEmulator(t, "netvault")
			e.create(t, "netvault", "web", emulator.CertificateSpec{})
			// Until cleared: the SDK retries each request three times.
			e.fault(t, emulator.Fault{Op: emulator.OpGetSecret, Kind: tc.kind, Count: 0})
			b := newBox(t)
			b.writeSettings(t, e, map[string]any{"url": "https://netvault.vault.azure.net/secrets/web"})
			b.sync(t, e)
			c := certStatus(t, b.status(t), "netvault/web")
			t.Logf("last error: %s", c.LastError)
			named := false
			for _, w := range tc.want {
				named = named || strings.Contains(c.LastError, w)
			}
			if !named || c.HTTPStatus != 0 {
				t.Errorf("last error %q (HTTP %d), want one of %q", c.LastError, c.HTTPStatus, tc.want)
			}
			if strings.Contains(c.LastError, "api-version") {
				t.Errorf("last error %q carries the request URL", c.LastError)
			}
		})
	}
}

// Double-encoded public settings work and leave a warning substatus in
// the handler's status; an invalid setting is named by the operator's
// path, in the handler's error status and in akvvm validate.
func TestHandlerSettingsWarningsAndPaths(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "e2evault")
	web := e.create(t, "e2evault", "web", emulator.CertificateSpec{})
	store := filepath.Join(t.TempDir(), "store")
	public := fmt.Sprintf(`{"secretsManagementSettings":{"pollingIntervalInS":"3600","requireInitialSync":true,"observedCertificates":[{"url":"https://e2evault.vault.azure.net/secrets/web","certificateStoreLocation":%q}]},"authenticationSettings":{"msiEndpoint":%q}}`,
		store, e.ready.IMDSEndpoint)
	g := newGuestAgent(t, "3.0.7")
	// What PowerShell produces from a JSON string in a hashtable: the
	// public settings are a string holding the object.
	raw := `{"runtimeSettings":[{"handlerSettings":{"protectedSettings":null,"publicSettings":` + quote(t, public) + `}}]}`
	if err := os.WriteFile(handler.SettingsPath(g.env.ConfigFolder, 0), []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"install", "enable"} {
		if out, code := g.run(t, op, 0); code != 0 {
			t.Fatalf("%s: exit %d\n%s", op, code, out)
		}
	}
	warned := func(st handler.StatusItem) bool {
		for _, s := range st.Status.SubStatus {
			if s.Name == handler.SettingsWarningName && s.Status == handler.StatusWarning &&
				strings.Contains(s.FormattedMessage.Message, "double-encoded") && strings.Contains(s.FormattedMessage.Message, "-SettingString") {
				return !strings.Contains(s.FormattedMessage.Message, "runtimeSettings")
			}
		}
		return false
	}
	if st := g.status(t, 0); !warned(st) {
		t.Errorf("enable's status has no warning substatus for the double encoding: %+v", st.Status)
	}
	stop := g.startService(t, e)
	st := g.waitStatus(t, 0, handler.StatusSuccess)
	if !warned(st) {
		t.Errorf("the service's status has no warning substatus for the double encoding: %+v", st.Status)
	}
	if !contains(st.Status.FormattedMessage.Message, "1 of 1 certificates installed") {
		t.Errorf("message %q", st.Status.FormattedMessage.Message)
	}
	if _, err := os.Readlink(filepath.Join(store, "e2evault.web")); err != nil {
		t.Errorf("certificate %s not installed: %v", web.Version, err)
	}
	stop()

	// seq 1: the second certificate points at /certificates/.
	g.writeSettings(t, 1, map[string]any{"secretsManagementSettings": map[string]any{"observedCertificates": []any{
		map[string]any{"url": "https://e2evault.vault.azure.net/secrets/web", "certificateStoreLocation": store},
		map[string]any{"url": "https://e2evault.vault.azure.net/certificates/api", "certificateStoreLocation": store},
	}}})
	if out, code := g.run(t, "enable", 1); code == 0 {
		t.Fatalf("enable with invalid settings succeeded:\n%s", out)
	}
	msg := g.status(t, 1).Status.FormattedMessage.Message
	t.Logf("1.status: %s", msg)
	const path = "secretsManagementSettings.observedCertificates[1].url: "
	if !strings.Contains(msg, "\n"+path) || strings.Contains(msg, "runtimeSettings") || strings.Contains(msg, "publicSettings") {
		t.Errorf("error status %q does not name the operator's path %q alone", msg, path)
	}
	out, code := akvvm(t, "validate", "--settings", handler.SettingsPath(g.env.ConfigFolder, 1), "--platform", "linux")
	t.Logf("validate:\n%s", out)
	if code != 2 || !strings.Contains(out, "\n  - "+path) || !strings.Contains(out, "paths are inside runtimeSettings[0].handlerSettings.publicSettings") ||
		strings.Count(out, "runtimeSettings") != 1 {
		t.Errorf("validate exit %d:\n%s", code, out)
	}
}

// quote returns s as a JSON string.
func quote(t *testing.T, s string) string {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// 600 certificates failing for three causes, as the guest agent reads the
// handler's status: the file stays under its 128 KiB limit, and every
// distinct cause of akvvm status is in it whole, in a substatus and in the
// overall message.
func TestHandlerStatusWith600FailingCertificates(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "e2evault", "lockedvault", "fwvault")
	ctx := t.Context()
	const clientID = "8d3a0f61-5c2e-4f7b-9a41-2b6c0e9d7f10"
	if err := e.admin.AddIdentity(ctx, clientID); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.SetAccess(ctx, "lockedvault", map[string][]emulator.Permission{
		"0b7e6d7c-1111-4222-8333-944455556666": {emulator.PermGet, emulator.PermList}}); err != nil {
		t.Fatal(err)
	}
	e.fault(t, emulator.Fault{Op: "*", Vault: "fwvault", Kind: emulator.FaultStatus, Status: 403, InnerCode: "ForbiddenByFirewall",
		Message: "Client address is not authorized and caller is not a trusted service.\r\nClient address: 203.0.113.7\r\nVault: fwvault;location=westeurope"})
	store := filepath.Join(t.TempDir(), "store")
	var certs []any
	for i := range 600 {
		vault := []string{"e2evault", "lockedvault", "fwvault"}[i%3] // e2evault: the secrets do not exist
		certs = append(certs, map[string]any{"url": fmt.Sprintf("https://%s.vault.azure.net/secrets/certificate-%03d", vault, i), "certificateStoreLocation": store})
	}
	g := newGuestAgent(t, "3.0.7")
	g.writeSettings(t, 0, map[string]any{
		"secretsManagementSettings": map[string]any{"pollingIntervalInS": "3600", "requireInitialSync": true, "observedCertificates": certs},
		"authenticationSettings":    map[string]any{"msiEndpoint": e.ready.IMDSEndpoint, "msiClientId": clientID},
	})
	for _, op := range []string{"install", "enable"} {
		if out, code := g.run(t, op, 0); code != 0 {
			t.Fatalf("%s: exit %d\n%s", op, code, out)
		}
	}
	g.startService(t, e)

	// Wait until every certificate failed once and both files say so.
	var st handler.StatusItem
	var size int
	var causes map[string]int
	var full []byte // one substatus per certificate, unsummarised
	waitFor(t, "600 certificates checked", func() (bool, string) {
		data, err := os.ReadFile(handler.StatusPath(g.env.StatusFolder, 0))
		if err != nil {
			return false, err.Error()
		}
		s, err := agent.ReadStatusFile(filepath.Join(g.dir, "state", handler.AgentStatusFile))
		if err != nil {
			return false, err.Error()
		}
		full, _ = json.MarshalIndent([]handler.StatusItem{handler.FromAgent(g.env.Name, s)}, "", "  ")
		causes = map[string]int{}
		for _, c := range s.Certificates {
			if c.LastError == "" {
				return false, c.Key + " not checked yet in status.json"
			}
			causes[c.CauseText()]++
		}
		if st, err = handler.ReadStatus(g.env.StatusFolder, 0); err != nil {
			return false, err.Error()
		}
		size = len(data)
		return !strings.Contains(st.Status.FormattedMessage.Message, "not checked yet"), st.Status.FormattedMessage.Message
	})
	t.Logf("0.status: %d bytes, %d substatus (one per certificate: %d bytes); %d distinct causes", size, len(st.Status.SubStatus), len(full), len(causes))
	if size > handler.MaxStatusSize {
		t.Errorf("0.status is %d bytes, over the guest agent's %d", size, handler.MaxStatusSize)
	}
	if len(causes) != 3 {
		t.Errorf("causes in status.json = %v, want three", causes)
	}
	for cause, n := range causes {
		inSub := false
		for _, s := range st.Status.SubStatus {
			inSub = inSub || strings.HasPrefix(s.FormattedMessage.Message, fmt.Sprintf("%d certificates not installed yet", n)) &&
				strings.Contains(s.FormattedMessage.Message, ": "+cause+"; certificates: https://")
		}
		if !inSub {
			t.Errorf("no substatus gives the cause of %d certificates whole: %s", n, cause)
		}
		if !strings.Contains(st.Status.FormattedMessage.Message, cause) {
			t.Errorf("the overall message lacks the cause of %d certificates: %s", n, cause)
		}
	}
	for _, want := range []string{"ForbiddenByPolicy", "ForbiddenByFirewall", "Client address: 203.0.113.7", "SecretNotFound"} {
		if !strings.Contains(st.Status.FormattedMessage.Message, want) {
			t.Errorf("the overall message lacks %q", want)
		}
	}
	if len(st.Status.FormattedMessage.Message) > 4096 {
		t.Errorf("the overall message is %d bytes: %s", len(st.Status.FormattedMessage.Message), st.Status.FormattedMessage.Message)
	}
	t.Logf("message: %s", st.Status.FormattedMessage.Message)
}
