package agent

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// A pinned version that is disabled in the vault is reported as disabled,
// with Key Vault's inner code, not as a permission problem of the identity.
func TestDisabledPinnedVersionIsNotAnAccessProblem(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", 2*time.Hour)
	h.addVersion(t, "v2", time.Hour)
	h.src.edit("web", "v1", func(v *keyvault.Version) { v.Enabled = false })
	h.spec.Certificates[0].PinnedVersion = "v1"
	a := h.agent(t, nil)
	st := a.SyncOnce(context.Background())
	c := st.Certificates[0]
	if c.HTTPStatus != http.StatusForbidden || c.ErrorCode != keyvault.CodeSecretDisabled {
		t.Errorf("cause HTTP %d %q, want 403 SecretDisabled", c.HTTPStatus, c.ErrorCode)
	}
	for _, want := range []string{"version v1 is disabled in the vault; enable it there", "pin another version"} {
		if !strings.Contains(c.LastError, want) || !strings.Contains(st.Message, want) {
			t.Errorf("error %q / message %q lacks %q", c.LastError, st.Message, want)
		}
	}
	for _, wrong := range []string{"system-assigned identity", "grant", "access"} {
		if strings.Contains(c.LastError, wrong) {
			t.Errorf("error %q names %q: a disabled version is not a permission problem", c.LastError, wrong)
		}
	}
	if strings.Contains(c.Cause, "v.vault.azure.net") || !strings.HasPrefix(c.Cause, "HTTP 403 SecretDisabled: ") {
		t.Errorf("cause %q, want the error without the secret and vault", c.Cause)
	}
}

// A 403 that refuses the identity still names it.
func TestAccessRefusalNamesTheIdentity(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	h.src.setFail(kvBodyError(http.StatusForbidden, "web", "",
		`{"error":{"code":"Forbidden","message":"The user, group or application does not have secrets get permission.","innererror":{"code":"ForbiddenByPolicy"}}}`))
	st := h.agent(t, nil).SyncOnce(context.Background())
	c := st.Certificates[0]
	if c.ErrorCode != keyvault.CodeForbiddenByPolicy || !strings.Contains(c.LastError, "access policies") || !strings.Contains(c.LastError, "(identity: system-assigned identity)") {
		t.Errorf("code %q, error %q; want ForbiddenByPolicy naming the access policies and the identity", c.ErrorCode, c.LastError)
	}
}

// With hundreds of failing certificates the overall message names every
// cause whole, once, with a few certificates each, and stays short.
func TestPhaseSummarisesCertificatesByCause(t *testing.T) {
	causeA := "HTTP 403 ForbiddenByPolicy: the vault's access policies do not let this identity read secrets: give it secrets get and list in an access policy"
	causeB := "connection to other.vault.azure.net closed before the response was complete (unexpected EOF): a proxy, firewall or load balancer on the way may be cutting connections; akvvm retries"
	causeC := "HTTP 404 SecretNotFound: check the secret name and version in observedCertificates"
	var certs []CertStatus
	for i := range 600 {
		cause := causeA
		switch {
		case i%3 == 1:
			cause = causeB
		case i == 599:
			cause = causeC
		}
		certs = append(certs, CertStatus{Key: fmt.Sprintf("v/c%03d", i), Fatal: true, Attempts: 25,
			LastError: "key vault: get secret c in https://v.vault.azure.net: " + cause, Cause: cause})
	}
	ph, msg := phase(Spec{InitialSync: InitialSync{Wait: true, MaxAttempts: 25}}, certs)
	if ph != Error {
		t.Fatalf("phase %s", ph)
	}
	for _, want := range []string{"399 certificates (v/c000, v/c002, v/c003 and 396 more): " + causeA, "200 certificates (v/c001, v/c004, v/c007 and 197 more): " + causeB, "v/c599: " + causeC} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Count(msg, causeA) != 1 || len(msg) > 2000 {
		t.Errorf("message of %d bytes repeats causes:\n%s", len(msg), msg)
	}

	// Pending certificates say which attempt failed; more causes than are
	// named are counted.
	certs = certs[:0]
	for i := range 8 {
		certs = append(certs, CertStatus{Key: fmt.Sprintf("v/p%d", i), Attempts: i + 1, LastError: fmt.Sprintf("cause %d", i/2)})
	}
	_, msg = phase(Spec{InitialSync: InitialSync{Wait: true}}, certs)
	if !strings.Contains(msg, "2 certificates (v/p0, v/p1) (attempts 1 to 2): cause 0") || !strings.Contains(msg, "0 of 8 certificates installed") {
		t.Errorf("pending message:\n%s", msg)
	}
	certs = append(certs, CertStatus{Key: "v/x", Attempts: 1, LastError: "cause 4"}, CertStatus{Key: "v/y", Attempts: 1, LastError: "cause 5"})
	if _, msg = phase(Spec{InitialSync: InitialSync{Wait: true}}, certs); !strings.Contains(msg, "1 more certificates with 1 other causes: run akvvm status") {
		t.Errorf("message does not count what it leaves out:\n%s", msg)
	}
}

// Two certificates that fail the same way share the cause recorded in the
// status, though their errors name their own secrets.
func TestSameFailureSameCause(t *testing.T) {
	h := newHarness(t)
	other := store.Ref{Vault: "v", Name: "api"}
	h.spec.Certificates = append(h.spec.Certificates, CertSpec{Ref: other, VaultURL: "https://v.vault.azure.net", URL: "https://v.vault.azure.net/secrets/api"})
	h.src.setFail(kvBodyError(http.StatusForbidden, "web", "",
		`{"error":{"code":"Forbidden","message":"Client address is not authorized and caller is not a trusted service.","innererror":{"code":"ForbiddenByFirewall"}}}`))
	st := h.agent(t, nil).SyncOnce(context.Background())
	a, b := st.Certificates[0], st.Certificates[1]
	if a.Cause == "" || a.Cause != b.Cause || strings.Contains(a.Cause, "identity") {
		t.Errorf("causes %q and %q, want one shared cause without the identity (a firewall refuses the machine)", a.Cause, b.Cause)
	}
	if !strings.Contains(st.Message, "2 certificates (v/api, v/web) (attempt 1 of 25): "+a.Cause) {
		t.Errorf("message %q", st.Message)
	}
}
