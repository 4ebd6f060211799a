package fleet

import (
	"os"
	"strconv"
	"strings"
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

// TestFleet runs the fleet sizes in AKVVM_FLEET_AGENTS (comma-separated)
// with AKVVM_FLEET_CERTS certificates (default 10), the stores under
// AKVVM_FLEET_DIR (default the test's temporary directory), and appends
// each report to AKVVM_FLEET_OUT. bench/fleet.sh runs it; without
// AKVVM_FLEET_AGENTS it is skipped.
func TestFleet(t *testing.T) {
	sizes := os.Getenv("AKVVM_FLEET_AGENTS")
	if sizes == "" {
		t.Skip("set AKVVM_FLEET_AGENTS (bench/fleet.sh does)")
	}
	certs := 10
	if v := os.Getenv("AKVVM_FLEET_CERTS"); v != "" {
		var err error
		if certs, err = strconv.Atoi(v); err != nil {
			t.Fatalf("AKVVM_FLEET_CERTS: %v", err)
		}
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatalf("AKVVM_FLEET_AGENTS: %v", err)
		}
		dir := t.TempDir()
		if d := os.Getenv("AKVVM_FLEET_DIR"); d != "" {
			if dir, err = os.MkdirTemp(d, "akvvm-fleet-"); err != nil {
				t.Fatal(err)
			}
		}
		var rep *Report
		synctest.Test(t, func(t *testing.T) {
			var err error
			if rep, err = Run(Config{Agents: n, Certs: certs, Dir: dir, Logf: t.Logf}); err != nil {
				t.Fatal(err)
			}
		})
		if os.Getenv("AKVVM_FLEET_DIR") != "" {
			_ = os.RemoveAll(dir)
		}
		if rep == nil {
			return
		}
		var b strings.Builder
		rep.Write(&b)
		t.Log("\n" + b.String())
		if out := os.Getenv("AKVVM_FLEET_OUT"); out != "" {
			f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.WriteString(b.String())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}
