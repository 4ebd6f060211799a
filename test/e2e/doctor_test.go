//go:build linux

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// akvvm doctor passes on a good setup and, on each broken one, names the
// cause on a ✗ line with its fix and exits 1; it never prints a token or a
// secret value.
func TestDoctorNamesTheCause(t *testing.T) {
	t.Parallel()
	const vault = "docvault"
	web := "https://" + vault + ".vault.azure.net/secrets/web"
	for _, tc := range []struct {
		name string
		// setup breaks the emulator; it may return the secret URL to
		// observe, extra authenticationSettings and replacement routing
		// flags.
		setup func(t *testing.T, e *emu) (url string, auth map[string]any, net []string)
		code  int
		// want are texts the output must hold, in this order.
		want []string
	}{
		{"good setup", nil, 0, []string{
			"✓ settings: KeyVaultForLinux 3.0, 1 certificate in 1 vault",
			"✓ identity endpoint http://127.0.0.1:",
			"✓ token for https://vault.azure.net: client id " + emulator.SystemAssignedClientID + ", object id ",
			"audience https://vault.azure.net; expires ",
			"✓ DNS docvault.vault.azure.net: routed by --connect-to",
			"✓ TLS docvault.vault.azure.net: TLS 1.",
			"✓ challenge docvault.vault.azure.net: resource https://vault.azure.net, authorization https://login.microsoftonline.com/" + emulator.DefaultTenant,
			"✓ secrets get web: allowed",
			"✓ secrets list web: allowed; 1 version, 1 usable",
			"✓ clock:",
			"✓ store ",
			"Result: all 10 checks passed (exit 0)"}},
		{"no identity", func(t *testing.T, e *emu) (string, map[string]any, []string) {
			e.fault(t, emulator.Fault{Op: emulator.OpToken, Kind: emulator.FaultStatus, Status: 400, Code: "invalid_request", Message: "Identity not found"})
			return "", nil, nil
		}, 1, []string{
			"✗ token for https://vault.azure.net: system-assigned identity at ", "HTTP 400 invalid_request: Identity not found",
			"fix: Check this machine has a system-assigned identity",
			"– secrets get web: skipped: no token"}},
		{"wrong identity endpoint", func(t *testing.T, e *emu) (string, map[string]any, []string) {
			return "", map[string]any{"msiEndpoint": "http://127.0.0.1:1/metadata/identity"}, nil
		}, 1, []string{"✗ identity endpoint http://127.0.0.1:1/metadata/identity/oauth2/token: not reachable", "connection refused",
			"fix: Check msiEndpoint is right", "– token for https://vault.azure.net: skipped"}},
		{"wrong client id", func(t *testing.T, e *emu) (string, map[string]any, []string) {
			return "", map[string]any{"msiClientId": "99999999-8888-4777-8666-555555555555"}, nil
		}, 1, []string{"✗ token for https://vault.azure.net: user-assigned identity 99999999-8888-4777-8666-555555555555", "Identity not found",
			"fix: Check msiClientId is the client id of a user-assigned identity assigned to this machine"}},
		{"403 on get with Azure RBAC", func(t *testing.T, e *emu) (string, map[string]any, []string) {
			e.fault(t, emulator.Fault{Op: emulator.OpGetSecret, Kind: emulator.FaultStatus, Status: 403, Code: "Forbidden", InnerCode: "ForbiddenByRbac",
				Message: "Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'"})
			return "", nil, nil
		}, 1, []string{"✗ secrets get web: refused: HTTP 403 ForbiddenByRbac", "fix: the vault uses Azure RBAC: assign this identity (object id ",
			"Key Vault Secrets User role", "✓ secrets list web: allowed"}},
		{"403 on get with access policies", func(t *testing.T, e *emu) (string, map[string]any, []string) {
			if err := e.admin.SetAccess(t.Context(), vault, map[string][]emulator.Permission{emulator.SystemAssignedClientID: {emulator.PermList}}); err != nil {
				t.Fatal(err)
			}
			return "", nil, nil
		}, 1, []string{"✗ secrets get web: refused: HTTP 403 ForbiddenByPolicy", "does not have secrets get permission",
			"fix: the vault uses access policies: give this identity (object id ", "get and list in an access policy", "✓ secrets list web: allowed"}},
		{"404 missing secret", func(t *testing.T, e *emu) (string, map[string]any, []string) {
			return "https://" + vault + ".vault.azure.net/secrets/missing", nil, nil
		}, 1, []string{"✗ secrets get missing: not found: HTTP 404 SecretNotFound", "this is not a permission problem",
			"✗ secrets list missing: not found: HTTP 404"}},
		{"DNS failure", func(t *testing.T, e *emu) (string, map[string]any, []string) {
			// Only the good vault is routed; the other name has no DNS.
			return "https://nxvault-akvvm-doctor.vault.azure.net/secrets/web", nil,
				[]string{"--connect-to", vault + ".vault.azure.net=" + e.ready.HTTPSAddr, "--ca-file", e.ready.CAFile}
		}, 1, []string{"✗ DNS nxvault-akvvm-doctor.vault.azure.net: does not resolve", "fix: check the vault name in observedCertificates",
			"privatelink.vaultcore.azure.net", "– TLS nxvault-akvvm-doctor.vault.azure.net: skipped: the name does not resolve"}},
		{"skewed clock", func(t *testing.T, e *emu) (string, map[string]any, []string) {
			if err := e.admin.SetDateSkew(t.Context(), 10*time.Minute); err != nil {
				t.Fatal(err)
			}
			return "", nil, nil
		}, 1, []string{"✓ secrets get web: allowed", "✗ clock: the vault's Date is ", "this machine's clock is 10m behind the vault's",
			"fix: set this machine's clock right", "1 of 10 checks failed (first: clock)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEmulator(t, vault)
			e.create(t, vault, "web", emulator.CertificateSpec{})
			url, auth, netArgs := web, map[string]any(nil), e.agentArgs()
			if tc.setup != nil {
				u, a, n := tc.setup(t, e)
				if u != "" {
					url = u
				}
				if n != nil {
					netArgs = n
				}
				auth = a
			}
			b := newBox(t)
			b.writeSettingsWith(t, e, nil, auth, map[string]any{"url": url})
			out, code := akvvm(t, append([]string{"doctor", "--settings", b.settings}, netArgs...)...)
			t.Logf("akvvm doctor (exit %d):\n%s", code, out)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			rest := out
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("output lacks %q (after the texts before it)", w)
					continue
				}
				rest = rest[i+len(w):]
			}
			if tc.code == 0 && strings.Contains(out, "✗") {
				t.Error("a good setup has a ✗ line")
			}
			for _, secret := range []string{"eyJ", "BEGIN", "PRIVATE KEY"} {
				if strings.Contains(out, secret) {
					t.Errorf("output holds %q: a token or a secret value", secret)
				}
			}
		})
	}
}
