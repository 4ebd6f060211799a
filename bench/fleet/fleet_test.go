package fleet

import (
	"testing"
	"testing/synctest"
)

// TestSmoke runs every scenario with 20 machines and 5 certificates: each
// agent installs all five, then both new versions, with no machine failing,
// even while the vault answers 429. Only outcomes are asserted, no speeds.
func TestSmoke(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rep, err := Run(Config{Agents: 20, Certs: 5, Dir: t.TempDir(), Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range rep.Phases {
			if p.Goal && (!p.Converged || p.FailedAgents > 0) {
				t.Errorf("%s: converged %v, %d failed agents, %d not converged", p.Name, p.Converged, p.FailedAgents, p.NotConverged)
			}
		}
	})
}
