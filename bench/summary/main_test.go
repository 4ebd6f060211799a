package main

import (
	"os"
	"strings"
	"testing"
)

// TestSummary reads a run whose 10,000 passes were cut or skipped (the
// shape of a run at a budget of 5 s) and checks the verdicts.
func TestSummary(t *testing.T) {
	f, err := os.Open("testdata/cut-and-skip.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	write(&out, r)
	got := out.String()
	for _, want := range []string{
		"| initial sync ≤ 1.25× the full-job floor at N = 1,000 | 7.07× (7378 vs 1044 µs/cert) | NOT met |",
		"| 10,000 | initial | ≥ 62.800 | 13.927 | ≥ 4.51× |",
		"| unchanged pass ≤ 1.25× the bare list loop at N = 10,000 | not measured: the initial sync that fills the store",
		"| agent µs/cert at N = 10,000 ≤ 1.2× that at N = 100 (initial) | ≥ 2.42× (≥ 6280 vs 2599 µs/cert; floor 1.13×) | NOT met |",
		"| peak RSS of akvvm sync --once ≤ 15 MB with 10 certificates | 16.8 MB",
		"| peak RSS of akvvm sync --once ≤ 25 MB with 1,000 certificates | 23.6 MB (23068 KiB; initial 23068 KiB, unchanged 20724 KiB) | met |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{10: "10", 100: "100", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSummaryFailures(t *testing.T) {
	in := "--- FAIL: BenchmarkSync/certs=100/initial/agent\nFAIL\tgithub.com/akvvm/akvvm/bench\t1.0s\nFAILED: go test exited with status 1 (go test ./bench/)\n"
	r, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	write(&out, r)
	for _, want := range []string{"## FAILURES", "- --- FAIL: BenchmarkSync/certs=100/initial/agent", "- FAILED: go test exited with status 1", "| initial sync ≤ 1.25× the full-job floor at N = 1,000 | missing from the results | not measured |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}
