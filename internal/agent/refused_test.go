package agent

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/transport"
)

// An answer akvvm refused (a redirect, an oversize body) is the
// certificate's cause, with the vault's status, and is retried on the
// permanent back-off, not the 30 s one; the vault's other certificates
// are still checked, since the refusal concerns one answer.
func TestRefusedAnswerIsTheCauseAndNotRetriedHot(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		cause  string
	}{
		{name: "redirect", status: http.StatusFound,
			err:   &url.Error{Op: "Get", URL: "https://v.vault.azure.net/secrets/web", Err: &transport.RedirectError{From: "v.vault.azure.net", To: "evil.example.com", Status: http.StatusFound}},
			cause: "v.vault.azure.net answered with a redirect to evil.example.com (HTTP 302); Key Vault and the identity endpoint never redirect, so akvvm refuses to follow it"},
		{name: "oversize", status: http.StatusOK,
			err:   &transport.TooLargeError{Host: "v.vault.azure.net", Status: http.StatusOK, Limit: keyvault.MaxResponseSize, Length: 200 << 20, Service: "Key Vault (a secret value is at most 25 KB)"},
			cause: "v.vault.azure.net answered with more than 1 MiB (Content-Length 209715200); akvvm reads at most 1 MiB from Key Vault (a secret value is at most 25 KB), so it refused the answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addVersion(t, "v1", time.Hour)
			a := h.agent(t, nil)
			if st := a.SyncOnce(context.Background()); st.Phase != Success {
				t.Fatalf("first sync: %+v", st)
			}
			h.src.setFail(keyvault.NewError("list versions of", "https://v.vault.azure.net", "web", "", tc.err))
			a.pass(context.Background(), nextDue(a, h.clock))
			st := a.Status().Certificates[0]
			if st.Cause != tc.cause || st.HTTPStatus != tc.status {
				t.Errorf("cause %q (HTTP %d), want %q (HTTP %d)", st.Cause, st.HTTPStatus, tc.cause, tc.status)
			}
			if gap, least := st.NextCheck.Sub(st.LastCheck), permanentBackoff(1, h.spec.Interval)*9/10; gap < least {
				t.Errorf("next check after %s, want the permanent back-off (at least %s)", gap, least)
			}
			var kv *keyvault.Error
			if !errors.As(h.src.fail, &kv) || vaultWide(kv) {
				t.Errorf("a refused answer counts as the whole vault failing")
			}
		})
	}
}
