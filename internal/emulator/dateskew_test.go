package emulator

import (
	"net/http"
	"testing"
	"time"
)

// The admin API shifts the Date header of vault answers, including the
// unauthenticated 401 a client sees first; the real clock still decides
// token validity, so a token keeps working.
func TestDateSkewShiftsTheVaultDateHeader(t *testing.T) {
	clock := newFakeClock()
	e := startEmulator(t, Config{Now: clock.Now})
	mustVault(t, e, VaultSpec{Name: "skewvault"})
	admin, err := NewAdminClient(e.AdminURL(), e.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	c := httpClient(t, e)
	u := e.VaultURL("skewvault") + "/secrets?api-version=7.5"
	date := func(token string) (time.Time, int) {
		t.Helper()
		r := rawRequest(t, c, http.MethodGet, u, token, "")
		if r.err != nil {
			t.Fatal(r.err)
		}
		d, err := http.ParseTime(r.header.Get("Date"))
		if err != nil {
			t.Fatalf("Date %q: %v", r.header.Get("Date"), err)
		}
		return d, r.status
	}
	for _, skew := range []time.Duration{10 * time.Minute, -7 * time.Minute} {
		if err := admin.SetDateSkew(t.Context(), skew); err != nil {
			t.Fatal(err)
		}
		if d, status := date(""); status != http.StatusUnauthorized || !d.Equal(clock.Now().Add(skew).Truncate(time.Second)) {
			t.Errorf("skew %s: 401 answer has Date %s (HTTP %d), want %s", skew, d, status, clock.Now().Add(skew))
		}
		tok := mustToken(t, e, "https://vault.azure.net", "")
		if d, status := date(tok); status != http.StatusOK || !d.Equal(clock.Now().Add(skew).Truncate(time.Second)) {
			t.Errorf("skew %s: authenticated answer has Date %s (HTTP %d), want HTTP 200 at %s", skew, d, status, clock.Now().Add(skew))
		}
	}
	if err := admin.SetDateSkew(t.Context(), 25*time.Hour); err == nil {
		t.Error("a skew of 25h was accepted")
	}
	if err := admin.SetDateSkew(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	if d, _ := date(""); time.Until(d).Abs() > time.Minute {
		t.Errorf("without skew the Date is %s, not now", d)
	}
}
