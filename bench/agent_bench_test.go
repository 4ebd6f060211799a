//go:build linux

package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/akvvm/akvvm/bench/floor"
	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
)

// syncSizes are the numbers of certificates of BenchmarkSync.
var syncSizes = []int{100, 1000, 10000}

// BenchmarkSync measures, for each N, the agent next to its floor on the
// same emulator in the same run (bench/summary turns the pairs into ratios):
//
//   - initial/agent: agent.SyncOnce into an empty directory store;
//   - initial/floor: the full-job floor, a bare loop over the azsecrets
//     client: get each secret, decode it, write its PEM with an fsync'd
//     atomic write;
//   - unchanged/agent: agent.SyncOnce over N installed, unchanged certificates;
//   - unchanged/floor: the bare list loop, the azsecrets list-versions pager
//     over each secret.
//
// All four use concurrency 4. Each reports req/cert (every request the
// emulator received, tokens included), gets/cert, lists/cert and µs/cert.
// The certificates (EC-P256, PKCS #12) are created once per N and reused.
func BenchmarkSync(b *testing.B) {
	for _, n := range syncSizes {
		b.Run(fmt.Sprintf("certs=%d", n), func(b *testing.B) {
			names := certNames(b, n)
			var installedDir string // left by initial/agent for unchanged/agent
			b.Run("initial/agent", func(b *testing.B) { installedDir = initialAgent(b, names) })
			b.Run("initial/floor", func(b *testing.B) { initialFloor(b, names) })
			b.Run("unchanged/agent", func(b *testing.B) { unchangedAgent(b, names, installedDir) })
			b.Run("unchanged/floor", func(b *testing.B) { unchangedFloor(b, names) })
		})
	}
}

// initialAgent times agent.SyncOnce into a new empty store directory (a new
// agent, credential and connections for every pass) and returns the
// directory of the last pass, full (or "" when a pass was cut short).
//
// A pass that outlives the budget (passBudget) is cancelled; the benchmark
// then reports incomplete=1 and, from the certificates the pass reached, a
// lower bound of µs/cert (see cutPass).
func initialAgent(b *testing.B, names []string) string {
	emu := sharedEmulator(b)
	var dir string
	var cut *cutPass
	emu.ResetLog()
	b.ReportAllocs()
	for b.Loop() {
		if cut != nil {
			continue // -benchtime=Nx after a cut pass: do not repeat it
		}
		b.StopTimer()
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
		dir = storeDir(b)
		a := newAgent(b, names, dir)
		ctx, cancel := context.WithTimeout(context.Background(), passBudget(b))
		b.StartTimer()
		start := time.Now()
		st := a.SyncOnce(ctx)
		elapsed := time.Since(start)
		b.StopTimer()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cut = &cutPass{elapsed: elapsed, reached: emu.Count(emulator.OpGetSecret, "")}
		} else if !installed(st) {
			b.Fatalf("initial sync: %s %s", st.Phase, st.Message)
		}
		cancel()
		b.StartTimer()
	}
	if cut != nil {
		cut.report(b, len(names))
		return ""
	}
	reportPass(b, emu, len(names))
	return dir
}

// initialFloor is the full-job floor: per certificate one get of the
// latest version, certbundle.Decode, and the PEM file (leaf, chain, PKCS #8
// key, as the directory store writes it) through fsutil.WriteFileAtomic.
func initialFloor(b *testing.B, names []string) {
	emu := sharedEmulator(b)
	ctx := context.Background()
	var dir string
	emu.ResetLog()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
		dir = storeDir(b)
		c := newFloorClient(b)
		b.StartTimer()
		err := forEach(ctx, names, func(ctx context.Context, name string) error {
			return floor.Install(ctx, c, benchVault, name, dir)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	reportPass(b, emu, len(names))
}

// unchangedAgent times agent.SyncOnce over installed certificates that did
// not change. dir is the full store initialAgent left; when there is none
// (a -bench filter, or its pass was cut short) an untimed initial sync
// fills a new one, within the pass budget, or the benchmark is skipped.
func unchangedAgent(b *testing.B, names []string, dir string) {
	emu := sharedEmulator(b)
	if dir == "" {
		dir = storeDir(b)
	}
	a := newAgent(b, names, dir)
	// Untimed warm-up: the token, the connections, and the initial sync
	// when the directory is empty.
	ctx, cancel := context.WithTimeout(context.Background(), passBudget(b))
	st := a.SyncOnce(ctx)
	cutShort := errors.Is(ctx.Err(), context.DeadlineExceeded)
	cancel()
	if cutShort {
		b.Skipf("not measured: the initial sync that fills the store for it did not finish within the pass budget %v (AKVVM_BENCH_PASS_BUDGET)", passBudget(b))
	}
	if !installed(st) {
		b.Fatalf("warm-up sync: %s %s", st.Phase, st.Message)
	}
	var cut *cutPass
	emu.ResetLog()
	b.ReportAllocs()
	for b.Loop() {
		if cut != nil {
			continue // -benchtime=Nx after a cut pass: do not repeat it
		}
		ctx, cancel := context.WithTimeout(context.Background(), passBudget(b))
		start := time.Now()
		st := a.SyncOnce(ctx)
		elapsed := time.Since(start)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cut = &cutPass{elapsed: elapsed, reached: emu.Count(emulator.OpListVersions, "")}
		} else if st.Phase != agent.Success {
			b.Fatalf("unchanged pass: %s %s", st.Phase, st.Message)
		}
		cancel()
	}
	if cut != nil {
		cut.report(b, len(names))
		return
	}
	reportPass(b, emu, len(names))
}

// unchangedFloor is the bare list loop: every page of the list-versions
// pager of each secret.
func unchangedFloor(b *testing.B, names []string) {
	emu := sharedEmulator(b)
	ctx := context.Background()
	c := newFloorClient(b)
	pass := func() error {
		return forEach(ctx, names, func(ctx context.Context, name string) error {
			pager := c.NewListSecretPropertiesVersionsPager(name, nil)
			seen := 0
			for pager.More() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					return err
				}
				seen += len(page.Value)
			}
			if seen == 0 {
				return errors.New("no versions listed")
			}
			return nil
		})
	}
	if err := pass(); err != nil { // untimed warm-up, as for the agent
		b.Fatal(err)
	}
	emu.ResetLog()
	b.ReportAllocs()
	for b.Loop() {
		if err := pass(); err != nil {
			b.Fatal(err)
		}
	}
	reportPass(b, emu, len(names))
}

// reportPass adds the per-certificate metrics of the b.N timed passes;
// call it after the loop, with the emulator's log reset before it.
func reportPass(b *testing.B, emu *emulator.Emulator, n int) {
	passes := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/passes, "µs/cert")
	b.ReportMetric(float64(emu.Count("", ""))/passes, "req/cert")
	b.ReportMetric(float64(emu.Count(emulator.OpGetSecret, ""))/passes, "gets/cert")
	b.ReportMetric(float64(emu.Count(emulator.OpListVersions, ""))/passes, "lists/cert")
}

// cutPass is an agent pass cancelled at the pass budget.
type cutPass struct {
	elapsed time.Duration
	// reached counts the certificates the pass got to (gets for an initial
	// sync, lists for an unchanged pass), as the emulator counted them.
	reached int
}

// report replaces the per-pass metrics of a cut pass: incomplete=1,
// reached/cert, and µs/cert as elapsed/reached, a lower bound of the
// whole pass's cost per certificate (the rest would not have been cheaper
// when the cost grows with the store). ns/op is the budget, not a pass.
func (c *cutPass) report(b *testing.B, n int) {
	b.Logf("pass cut at the budget after %v, %d of %d certificates reached", c.elapsed.Round(time.Millisecond), c.reached, n)
	b.ReportMetric(1, "incomplete")
	b.ReportMetric(float64(c.reached)/float64(n), "reached/cert")
	if c.reached > 0 {
		b.ReportMetric(float64(c.elapsed.Nanoseconds())/1e3/float64(c.reached), "µs/cert")
	}
}

// passBudget is the longest one agent pass may run ($AKVVM_BENCH_PASS_BUDGET,
// default 100s), so that a pass quadratic in N cannot stall the run.
func passBudget(b *testing.B) time.Duration {
	if v := os.Getenv("AKVVM_BENCH_PASS_BUDGET"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("AKVVM_BENCH_PASS_BUDGET=%q: want a positive duration such as 100s", v)
		}
		return d
	}
	return defaultPassBudget
}

const defaultPassBudget = 100 * time.Second
