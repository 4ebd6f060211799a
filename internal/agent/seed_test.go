package agent

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

// Machines whose agents start at the same instant (a scale set deployed,
// or clocks that read alike) still spread their polls: the jitter's seed
// does not come from the clock. In a synctest bubble every agent is made
// at the same time.Now, as in the fleet simulation (bench/fleet).
func TestAgentsStartedTogetherPollApart(t *testing.T) {
	synctest.Test(t, agentsStartedTogetherPollApart)
}

func agentsStartedTogetherPollApart(t *testing.T) {
	p := newTestPKI(t)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	next := map[time.Time]bool{}
	const machines = 8
	for range machines {
		clock := &fakeClock{now: start}
		src := newFakeSource()
		src.add("web", "v1", p.leafPEM(t, "web.example.com", false), start.Add(-time.Hour))
		spec := Spec{Interval: time.Hour, Versions: 1, Certificates: []CertSpec{{Ref: store.Ref{Vault: "v", Name: "web"},
			VaultURL: "https://v.vault.azure.net", URL: "https://v.vault.azure.net/secrets/web"}}}
		a, err := New(spec, Deps{Source: src, Store: newMemStore(), Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		st := a.SyncOnce(context.Background())
		c := st.Certificates[0]
		if c.InstalledVersion != "v1" {
			t.Fatalf("installed %q, want v1 (%s)", c.InstalledVersion, c.LastError)
		}
		if d := c.NextCheck.Sub(start); d < 54*time.Minute || d > 66*time.Minute {
			t.Fatalf("next check after %v, want the interval ±10 %%", d)
		}
		next[c.NextCheck] = true
	}
	if len(next) != machines {
		t.Errorf("%d agents started at the same instant share %d next checks; each should draw its own jitter", machines, len(next))
	}
}
