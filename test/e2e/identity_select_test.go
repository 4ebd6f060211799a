//go:build linux

package e2e

import (
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/emulator"
)

const idVault = "idselvault"

// The identity is named by object id (msiObjectId), or by resource id
// given in msiClientId: each reaches the identity endpoint as its own query
// parameter (object_id, msi_res_id), the token is issued to that identity,
// and the certificate installs.
func TestIdentityByObjectIDAndResourceID(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, idVault)
	const appID = "3f0c2a51-7d4e-4b6a-9c8d-1e2f3a4b5c6d"
	if err := e.admin.AddIdentity(t.Context(), appID); err != nil {
		t.Fatal(err)
	}
	// Only the user-assigned identity may read the vault.
	if err := e.admin.SetAccess(t.Context(), idVault, map[string][]emulator.Permission{appID: {emulator.PermGet, emulator.PermList}}); err != nil {
		t.Fatal(err)
	}
	v1 := e.create(t, idVault, "id", emulator.CertificateSpec{KeyType: "EC-P256"})
	for _, tc := range []struct {
		name     string
		auth     map[string]any
		selector string
		warning  string
	}{
		{"object id", map[string]any{"msiObjectId": emulator.ObjectID(appID)}, "object_id", ""},
		{"resource id", map[string]any{"msiClientId": emulator.ResourceID(appID)}, "msi_res_id",
			"authenticationSettings.msiClientId: is the ARM resource id of a user-assigned identity, not its client id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.admin.ResetLog(t.Context()); err != nil {
				t.Fatal(err)
			}
			b := newBox(t)
			b.writeSettingsWith(t, e, nil, tc.auth, map[string]any{"url": "https://" + idVault + ".vault.azure.net/secrets/id"})
			out, code := b.sync(t, e)
			if code != 0 || b.link(t, idVault+".id") != idVault+".id."+v1.Version {
				t.Fatalf("sync --once: exit %d, link %q\n%s", code, b.link(t, idVault+".id"), out)
			}
			if tc.warning != "" && !strings.Contains(out, tc.warning) {
				t.Errorf("no warning %q in\n%s", tc.warning, out)
			}
			tokens := e.requests(t, emulator.OpToken)
			if len(tokens) == 0 {
				t.Fatal("no token request in the emulator's log")
			}
			for _, r := range tokens {
				if r.Selector != tc.selector || r.ClientID != appID || r.Status != 200 {
					t.Errorf("token request %+v; want selected by %s, issued to %s", r, tc.selector, appID)
				}
			}
			for _, r := range e.requests(t, "") {
				if r.Op != emulator.OpToken && r.ClientID != appID {
					t.Errorf("vault request %s %s authenticated as %q, want %s", r.Method, r.Path, r.ClientID, appID)
				}
			}

			out, _ = akvvm(t, append([]string{"doctor", "--settings", b.settings}, e.agentArgs()...)...)
			want := "✓ token for https://vault.azure.net: client id " + appID + ", object id " + emulator.ObjectID(appID)
			if !strings.Contains(out, want) {
				t.Errorf("doctor does not report the identity used (%q):\n%s", want, out)
			}
		})
	}

	// An object id the endpoint does not know is refused, as IMDS does.
	b := newBox(t)
	b.writeSettingsWith(t, e, nil, map[string]any{"msiObjectId": "00000000-1111-4222-8333-444444444444"},
		map[string]any{"url": "https://" + idVault + ".vault.azure.net/secrets/id"})
	out, _ := akvvm(t, append([]string{"doctor", "--settings", b.settings}, e.agentArgs()...)...)
	if !strings.Contains(out, "user-assigned identity with object id 00000000-1111-4222-8333-444444444444 at ") ||
		!strings.Contains(out, "HTTP 400 invalid_request: Identity not found") || !strings.Contains(out, "Check msiObjectId is the object (principal) id") {
		t.Errorf("doctor with an unknown object id:\n%s", out)
	}
}
