//go:build linux

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/handler"
)

const (
	expVault = "expvault"
	expKey   = expVault + "/web"
	expURL   = "https://" + expVault + ".vault.azure.net/secrets/web"
	day      = 24 * time.Hour
)

// expiringSpec is a certificate of 90 days with 10 left: within the
// default warning time (30 days, a third of 90).
func expiringSpec() (emulator.CertificateSpec, time.Time) {
	nbf := time.Now().Add(-80 * day)
	return emulator.CertificateSpec{KeyType: "EC-P256", NotBefore: &nbf, Validity: emulator.Duration(90 * day)}, nbf.Add(90 * day)
}

// A certificate expiring in 10 days, with nothing newer in the vault, is a
// warning in akvvm status (JSON and table), in sync's result and as a WARN
// line; a newer usable version in the vault clears it at the next check.
func TestExpiringCertificateWarnsUntilANewerVersion(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, expVault)
	spec, notAfter := expiringSpec()
	v1 := e.create(t, expVault, "web", spec)
	b := newBox(t)
	b.writeSettings(t, e, map[string]any{"url": expURL})

	out, code := b.sync(t, e)
	if code != 0 || !strings.Contains(out, "with a validity warning (see akvvm status): "+expKey) ||
		!contains(out, "level=WARN", "installed certificate expires soon") {
		t.Fatalf("sync: exit %d, want 0 naming the warning and a WARN line:\n%s", code, out)
	}
	if n := strings.Count(out, "installed certificate expires soon"); n != 1 {
		t.Errorf("one pass logged %d expiry WARN lines, want 1", n)
	}
	date := notAfter.UTC().Truncate(time.Second).Format(time.RFC3339)
	s := b.status(t)
	c := certStatus(t, s, expKey)
	if c.InstalledVersion != v1.Version || !contains(c.ValidityWarning, "expires on "+date, "no newer usable version") {
		t.Fatalf("status: version %s, validityWarning %q; want %s and a warning naming %s", c.InstalledVersion, c.ValidityWarning, v1.Version, date)
	}
	if s.Phase != "success" || !strings.Contains(s.Message, "warning: "+expKey+": ") {
		t.Errorf("phase %s, message %q; want success naming the warning", s.Phase, s.Message)
	}
	table, code := akvvm(t, "status", "--state-dir", b.state)
	t.Logf("akvvm status:\n%s", table)
	if code != 0 || !contains(table, "(1 certificate with a warning)", "WARNING "+expKey+": ", date) {
		t.Errorf("akvvm status: exit %d:\n%s", code, table)
	}

	nextSecond()
	v2 := e.create(t, expVault, "web", emulator.CertificateSpec{KeyType: "EC-P256"})
	if out, code := b.sync(t, e); code != 0 || strings.Contains(out, "validity warning") {
		t.Fatalf("sync after v2: exit %d:\n%s", code, out)
	}
	c = certStatus(t, b.status(t), expKey)
	if c.InstalledVersion != v2.Version || c.ValidityWarning != "" {
		t.Errorf("after v2: version %s, validityWarning %q; want %s and none", c.InstalledVersion, c.ValidityWarning, v2.Version)
	}
}

// A version whose certificate expired 375 days ago, which the vault's
// attributes still offer (an operator moved its exp), is installed with a
// WARN line and shown as a warning.
func TestExpiredVersionInstalledWarns(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, expVault)
	nbf := time.Now().Add(-740 * day)
	v1 := e.create(t, expVault, "web", emulator.CertificateSpec{KeyType: "EC-P256", NotBefore: &nbf, Validity: emulator.Duration(365 * day)})
	e.setExpires(t, expVault, "web", v1.Version, time.Now().Add(365*day))
	b := newBox(t)
	b.writeSettings(t, e, map[string]any{"url": expURL})

	out, code := b.sync(t, e)
	if code != 0 || !contains(out, "level=WARN", "installed a version that has expired") {
		t.Fatalf("sync: exit %d, want 0 and a WARN line:\n%s", code, out)
	}
	if n := strings.Count(out, "level=WARN"); n != 1 {
		t.Errorf("the install logged %d WARN lines, want 1:\n%s", n, out)
	}
	t.Logf("sync output:\n%s", out)
	c := certStatus(t, b.status(t), expKey)
	if c.InstalledVersion != v1.Version || !contains(c.ValidityWarning, "expired on ", "(375 days ago)") {
		t.Errorf("status: version %s, validityWarning %q", c.InstalledVersion, c.ValidityWarning)
	}
}

// The handler's status shows the expiring certificate as a warning
// substatus with the date, and its message carries it; the overall
// status stays success, terminal for the guest agent. A newer version in
// the vault turns the substatus back to success.
func TestExpiringCertificateInHandlerStatus(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, expVault)
	spec, notAfter := expiringSpec()
	e.create(t, expVault, "web", spec)
	store := t.TempDir()
	g := newGuestAgent(t, "3.0.7")
	if out, code := g.run(t, "install", -1); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	g.writeSettings(t, 0, map[string]any{
		"secretsManagementSettings": map[string]any{"pollingIntervalInS": "3600", "requireInitialSync": true,
			"observedCertificates": []any{map[string]any{"url": expURL, "certificateStoreLocation": store}}},
		"authenticationSettings": map[string]any{"msiEndpoint": e.ready.IMDSEndpoint},
	})
	if out, code := g.run(t, "enable", 0); code != 0 {
		t.Fatalf("enable: exit %d\n%s", code, out)
	}
	g.startService(t, e)
	st := g.waitStatus(t, 0, handler.StatusSuccess)
	date := notAfter.UTC().Truncate(time.Second).Format(time.RFC3339)
	msg := st.Status.FormattedMessage.Message
	t.Logf("0.status: %s: %s", st.Status.Status, msg)
	for _, s := range st.Status.SubStatus {
		t.Logf("substatus %s: %s: %s", s.Name, s.Status, s.FormattedMessage.Message)
	}
	if !contains(msg, "Enable succeeded: ", "warning: "+expKey+": ", "expires on "+date) {
		t.Errorf("message %q does not name the certificate and the date", msg)
	}
	if len(st.Status.SubStatus) != 1 {
		t.Fatalf("substatus %+v", st.Status.SubStatus)
	}
	sub := st.Status.SubStatus[0]
	if sub.Name != expURL || sub.Status != handler.StatusWarning || !contains(sub.FormattedMessage.Message, "warning: version ", "expires on "+date) {
		t.Errorf("substatus %+v, want a warning naming %s", sub, date)
	}

	nextSecond()
	v2 := e.create(t, expVault, "web", emulator.CertificateSpec{KeyType: "EC-P256"})
	// The service polls every 1.8 s (an hour at --test-time-scale 2000).
	waitFor(t, "the substatus back to success with v2", func() (bool, string) {
		st, err := handler.ReadStatus(g.env.StatusFolder, 0)
		if err != nil || len(st.Status.SubStatus) != 1 {
			return false, ""
		}
		s := st.Status.SubStatus[0]
		ok := st.Status.Status == handler.StatusSuccess && s.Status == handler.StatusSuccess &&
			strings.Contains(s.FormattedMessage.Message, "version "+v2.Version) && !strings.Contains(st.Status.FormattedMessage.Message, "warning")
		return ok, st.Status.Status + " / " + s.Status + ": " + s.FormattedMessage.Message
	})
}
