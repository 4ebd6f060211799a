//go:build linux

package e2e

import (
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// appID is the user-assigned identity the failure tests run as, so that
// status can be checked for naming it.
const appID = "0f1e2d3c-4b5a-4697-8877-665544332211"

// failure breaks the vault after a first successful install and says what
// akvvm status must report.
type failure struct {
	name       string
	breakVault func(t *testing.T, e *emu)
	// status and code are the HTTP status and Key Vault error code (0 and
	// "" when the failure is in the content).
	status int
	code   string
	// mention are strings the last error must contain.
	mention []string
	// identity says the last error must name the identity.
	identity bool
}

func TestFailureAfterInstallKeepsFilesAndNamesCause(t *testing.T) {
	t.Parallel()
	for _, f := range []failure{
		{name: "401 token refused", status: 401, code: "Unauthorized", identity: true,
			mention: []string{"HTTP 401"},
			breakVault: func(t *testing.T, e *emu) {
				e.fault(t, emulator.Fault{Op: emulator.OpListVersions, Kind: emulator.FaultStatus, Status: 401, Message: "AKV10032: Invalid issuer."})
			}},
		{name: "403 access list without the identity", status: 403, code: "ForbiddenByPolicy", identity: true,
			mention: []string{"HTTP 403 ForbiddenByPolicy", "access policies"},
			breakVault: func(t *testing.T, e *emu) {
				other := map[string][]emulator.Permission{"11111111-2222-4333-8444-555555555555": {emulator.PermGet, emulator.PermList}}
				if err := e.admin.SetAccess(t.Context(), "failvault", other); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "404 secret deleted", status: 404, code: "SecretNotFound",
			mention:    []string{"HTTP 404", "web"},
			breakVault: func(t *testing.T, e *emu) { e.deleteSecret(t, "failvault", "web") }},
		{name: "429 throttled with Retry-After", status: 429, code: "Throttled",
			mention: []string{"HTTP 429"},
			breakVault: func(t *testing.T, e *emu) {
				e.fault(t, emulator.Fault{Op: emulator.OpListVersions, Kind: emulator.FaultStatus, Status: 429, RetryAfter: 300})
			}},
		{name: "503 service unavailable", status: 503, code: "ServiceUnavailable",
			mention: []string{"HTTP 503"},
			breakVault: func(t *testing.T, e *emu) {
				e.fault(t, emulator.Fault{Op: emulator.OpListVersions, Kind: emulator.FaultStatus, Status: 503, RetryAfter: 1})
			}},
		{name: "corrupt secret value",
			mention: []string{"not a usable certificate"},
			breakVault: func(t *testing.T, e *emu) {
				nextSecond()
				if _, err := e.admin.SetSecret(t.Context(), "failvault", "web", emulator.SecretSpec{Value: "bm90IGEgY2VydGlmaWNhdGU=", ContentType: "application/x-pkcs12"}); err != nil {
					t.Fatal(err)
				}
			}},
		// A truncated body would be retried by the SDK for about 18 s before
		// failing the same way, so the malformed body stands for both.
		{name: "malformed download",
			mention: []string{"get secret web/"},
			breakVault: func(t *testing.T, e *emu) {
				nextSecond()
				e.rotate(t, "failvault", "web")
				e.fault(t, emulator.Fault{Op: emulator.OpGetSecret, Kind: emulator.FaultMalformed})
			}},
		{name: "PEM with another certificate's key",
			mention: []string{"private key matches no certificate"},
			breakVault: func(t *testing.T, e *emu) {
				pemSpec := emulator.CertificateSpec{ContentType: "application/x-pem-file"}
				e.create(t, "failvault", "certsource", pemSpec)
				e.create(t, "failvault", "keysource", pemSpec)
				certs := pemBlocks(t, e, "certsource", "CERTIFICATE")
				keys := pemBlocks(t, e, "keysource", "PRIVATE KEY")
				nextSecond()
				if _, err := e.admin.SetSecret(t.Context(), "failvault", "web", emulator.SecretSpec{Value: certs + keys, ContentType: "application/x-pem-file"}); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			testFailureAfterInstall(t, f)
		})
	}
}

func testFailureAfterInstall(t *testing.T, f failure) {
	e := startEmulator(t, "failvault")
	if err := e.admin.AddIdentity(t.Context(), appID); err != nil {
		t.Fatal(err)
	}
	first := e.create(t, "failvault", "web", emulator.CertificateSpec{DNSNames: []string{"web.example.com"}})
	b := newBox(t)
	b.writeSettingsWith(t, e, nil, map[string]any{"msiClientId": appID},
		map[string]any{"url": "https://failvault.vault.azure.net/secrets/web"})
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("first sync exit %d:\n%s", code, out)
	}
	before := snapshot(t, b.store)

	f.breakVault(t, e)
	// The certificate stays installed, but this pass failed: exit 3.
	out, code := b.sync(t, e)
	if code != exitStale {
		t.Errorf("sync after the failure: exit %d, want %d (installed, but this pass failed):\n%s", code, exitStale, out)
	}
	sameFiles(t, before, snapshot(t, b.store))
	if got := b.link(t, "failvault.web"); got != "failvault.web."+first.Version {
		t.Errorf("link points at %s, want the first version %s", got, first.Version)
	}

	s := b.status(t)
	c := certStatus(t, s, "failvault/web")
	if c.InstalledVersion != first.Version || c.Thumbprint != first.Thumbprint {
		t.Errorf("status installed %s %s, want the first version %s %s", c.InstalledVersion, c.Thumbprint, first.Version, first.Thumbprint)
	}
	if c.HTTPStatus != f.status || c.ErrorCode != f.code {
		t.Errorf("status cause HTTP %d %q, want HTTP %d %q; last error: %s", c.HTTPStatus, c.ErrorCode, f.status, f.code, c.LastError)
	}
	if !contains(c.LastError, f.mention...) {
		t.Errorf("last error %q does not mention %q", c.LastError, f.mention)
	}
	if f.identity && !contains(c.LastError, appID) {
		t.Errorf("last error %q does not name the identity %s", c.LastError, appID)
	}
	if c.Attempts < 1 || c.LastCheck.IsZero() {
		t.Errorf("status does not count the failed attempt: %+v", c)
	}
	if f.status == 429 && c.NextCheck.Sub(c.LastCheck) < 4*time.Minute {
		t.Errorf("next check %s after a Retry-After of 300 s, want at least that long (minus jitter)", c.NextCheck.Sub(c.LastCheck))
	}
	if strings.Contains(out, "PRIVATE KEY") || strings.Contains(c.LastError, "PRIVATE KEY") {
		t.Errorf("key material in the output")
	}
}

// pemBlocks returns the PEM blocks of type typ in the latest version of a PEM secret.
func pemBlocks(t *testing.T, e *emu, name, typ string) string {
	t.Helper()
	v, err := e.admin.GetSecret(t.Context(), "failvault", name, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for rest := []byte(v.Value); ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type == typ {
			out = append(out, pem.EncodeToMemory(blk)...)
		}
	}
	if len(out) == 0 {
		t.Fatalf("secret %s has no %s block", name, typ)
	}
	return string(out)
}
