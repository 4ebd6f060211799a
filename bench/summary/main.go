// Command summary reads the output of akvvm's benchmarks (go test -bench,
// as bench/run.sh writes it) and prints the table of targets against what
// was measured: the agent next to its floor from the same run, per number
// of certificates, and the peak RSS of the release build.
//
// Usage: go run ./bench/summary < bench/results/FILE.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	r, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "summary:", err)
		os.Exit(1)
	}
	write(os.Stdout, r)
}

// result is one benchmark's metrics (median over -count repetitions).
type result map[string]float64

// results are keyed by benchmark name without the "Benchmark" prefix and
// the -GOMAXPROCS suffix, e.g. "Sync/certs=100/initial/agent".
type results struct {
	byName   map[string]result
	skipped  map[string]string // name → reason
	failures []string          // "--- FAIL", "FAIL" and run.sh's "FAILED" lines
}

var procSuffix = regexp.MustCompile(`-\d+$`)

func parse(in io.Reader) (*results, error) {
	samples := map[string]map[string][]float64{}
	r := &results{byName: map[string]result{}, skipped: map[string]string{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	// In -v output a benchmark's log lines ("    file.go:NN: text") come
	// before its "--- SKIP:" line; the last one is the reason.
	var lastLog string
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if name, ok := strings.CutPrefix(trimmed, "--- SKIP: Benchmark"); ok {
			reason := "skipped"
			if lastLog != "" {
				reason = lastLog
			}
			r.skipped[procSuffix.ReplaceAllString(strings.Fields(name)[0], "")] = reason
			lastLog = ""
			continue
		}
		if strings.HasPrefix(trimmed, "--- FAIL") || strings.HasPrefix(trimmed, "FAIL") {
			r.failures = append(r.failures, trimmed)
			continue
		}
		if strings.HasPrefix(line, "    ") {
			lastLog = trimmed
			if _, after, ok := strings.Cut(trimmed, ": "); ok {
				lastLog = after
			}
			continue
		}
		if strings.HasPrefix(line, "Benchmark") && len(strings.Fields(line)) == 1 {
			lastLog = "" // the name line of the next benchmark (-v)
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue // a name line of -v output, or not a result
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		if samples[name] == nil {
			samples[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: metric %q: %w", name, f[i+1], err)
			}
			samples[name][f[i+1]] = append(samples[name][f[i+1]], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for name, metrics := range samples {
		res := result{}
		for unit, vs := range metrics {
			slices.Sort(vs)
			res[unit] = vs[len(vs)/2]
		}
		r.byName[name] = res
	}
	return r, nil
}

// sizes of BenchmarkSync, in the order they appear in the table.
var sizes = []int{100, 1000, 10000}

// pass is one agent/floor pair of BenchmarkSync at one size.
type pass struct {
	agent, floor result
	skipped      string // why the agent was not measured
}

func (r *results) pass(n int, kind string) pass {
	key := fmt.Sprintf("Sync/certs=%d/%s/", n, kind)
	return pass{agent: r.byName[key+"agent"], floor: r.byName[key+"floor"], skipped: r.skipped[key+"agent"]}
}

// incomplete reports whether the agent's pass was cut at the pass budget:
// its µs/cert is then a lower bound.
func (p pass) incomplete() bool { return p.agent["incomplete"] > 0 }

// measured is the agent's and floor's cost per certificate in µs; ok is
// false when either is missing.
func (p pass) perCert() (agent, floor float64, ok bool) {
	a, aok := p.agent["µs/cert"]
	f, fok := p.floor["µs/cert"]
	return a, f, aok && fok && f > 0
}

const (
	met         = "met"
	notMet      = "NOT met"
	notMeasured = "not measured"
)

// check compares a measured ratio (a lower bound when lower) with limit.
func check(ratio, limit float64, lower bool) string {
	switch {
	case ratio <= limit && !lower:
		return met
	case ratio > limit:
		return notMet
	default:
		return notMeasured + " (lower bound within the limit)"
	}
}

func bound(lower bool) string {
	if lower {
		return "≥ "
	}
	return ""
}

func write(w io.Writer, r *results) {
	if len(r.failures) > 0 {
		fmt.Fprintln(w, "## FAILURES (see the raw output; what they stopped is missing below)")
		fmt.Fprintln(w)
		for _, f := range r.failures {
			fmt.Fprintln(w, "- "+f)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "## Per pass (agent vs floor, same run, same emulator, concurrency 4)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| N | pass | agent s/pass | floor s/pass | agent/floor | agent µs/cert | floor µs/cert | agent req/cert | floor req/cert | agent allocs/pass | floor allocs/pass | agent allocs/cert | floor allocs/cert |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range sizes {
		for _, kind := range []string{"initial", "unchanged"} {
			p := r.pass(n, kind)
			if p.agent == nil && p.floor == nil && p.skipped == "" {
				continue
			}
			a, f, ok := p.perCert()
			lb := bound(p.incomplete())
			cell := func(res result, unit string, scale float64, format string) string {
				v, ok := res[unit]
				if !ok {
					return "–"
				}
				return fmt.Sprintf(format, v*scale)
			}
			agentS, ratio := "–", "–"
			if _, ok := p.agent["µs/cert"]; ok {
				agentS = fmt.Sprintf("%s%.3f", lb, a*float64(n)/1e6)
			}
			if p.skipped != "" {
				agentS = notMeasured
			}
			if ok {
				ratio = fmt.Sprintf("%s%.2f×", lb, a/f)
			}
			agentReq, agentAllocs, agentAllocsCert := cell(p.agent, "req/cert", 1, "%.3f"), cell(p.agent, "allocs/op", 1, "%.0f"), cell(p.agent, "allocs/op", 1/float64(n), "%.0f")
			if p.incomplete() {
				// Counted over a cut pass: not per certificate of a whole pass.
				agentReq, agentAllocs, agentAllocsCert = "–", "(cut pass)", "–"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", thousands(n), kind,
				agentS, cell(p.floor, "ns/op", 1e-9, "%.3f"), ratio,
				lb+cell(p.agent, "µs/cert", 1, "%.0f"), cell(p.floor, "µs/cert", 1, "%.0f"),
				agentReq, cell(p.floor, "req/cert", 1, "%.3f"),
				agentAllocs, cell(p.floor, "allocs/op", 1, "%.0f"), agentAllocsCert, cell(p.floor, "allocs/op", 1/float64(n), "%.0f"))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "\"≥\": the agent's pass was cut at the pass budget (AKVVM_BENCH_PASS_BUDGET); µs/cert is then elapsed time over the")
	fmt.Fprintln(w, "certificates it reached, a lower bound, and s/pass is that times N. Allocations are the whole process's, so they include")
	fmt.Fprintln(w, "the in-process emulator's share, the same for agent and floor; the difference is the client side.")
	fmt.Fprintln(w)

	fmt.Fprintln(w, "## Targets")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | status |")
	fmt.Fprintln(w, "|---|---|---|")
	row := func(target, measured, status string) {
		fmt.Fprintf(w, "| %s | %s | %s |\n", target, measured, status)
	}
	ratioRow := func(target string, p pass, limit float64) {
		a, f, ok := p.perCert()
		switch {
		case p.skipped != "":
			row(target, p.skipped, notMeasured)
		case !ok:
			row(target, "missing from the results", notMeasured)
		default:
			lb := p.incomplete()
			row(target, fmt.Sprintf("%s%.2f× (%s%.0f vs %.0f µs/cert)", bound(lb), a/f, bound(lb), a, f), check(a/f, limit, lb))
		}
	}
	ratioRow("initial sync ≤ 1.25× the full-job floor at N = 1,000", r.pass(1000, "initial"), 1.25)
	for _, n := range sizes {
		ratioRow(fmt.Sprintf("unchanged pass ≤ 1.25× the bare list loop at N = %s", thousands(n)), r.pass(n, "unchanged"), 1.25)
	}
	for _, kind := range []string{"initial", "unchanged"} {
		target := fmt.Sprintf("agent µs/cert at N = 10,000 ≤ 1.2× that at N = 100 (%s)", kind)
		small, large := r.pass(100, kind), r.pass(10000, kind)
		s, sok := small.agent["µs/cert"]
		l, lok := large.agent["µs/cert"]
		switch {
		case large.skipped != "":
			row(target, large.skipped, notMeasured)
		case !sok || !lok || s <= 0 || small.incomplete():
			row(target, "missing from the results", notMeasured)
		default:
			lb := large.incomplete()
			floorNote := ""
			if fs, fl := small.floor["µs/cert"], large.floor["µs/cert"]; fs > 0 && fl > 0 {
				floorNote = fmt.Sprintf("; floor %.2f×", fl/fs)
			}
			row(target, fmt.Sprintf("%s%.2f× (%s%.0f vs %.0f µs/cert%s)", bound(lb), l/s, bound(lb), l, s, floorNote), check(l/s, 1.2, lb))
		}
	}
	for _, c := range []struct {
		n     int
		limit float64
	}{{10, 15}, {1000, 25}} {
		target := fmt.Sprintf("peak RSS of akvvm sync --once ≤ %.0f MB with %s certificates", c.limit, thousands(c.n))
		res, ok := r.byName[fmt.Sprintf("PeakRSS/certs=%d", c.n)]
		if !ok {
			row(target, "missing from the results", notMeasured)
			continue
		}
		kib := max(res["peak-KiB"], res["unchanged-peak-KiB"])
		mb := kib * 1024 / 1e6
		status := met
		if mb > c.limit {
			status = notMet
		}
		floorNote := ""
		if f := res["floor-peak-KiB"]; f > 0 {
			floorNote = fmt.Sprintf("; bare-job floor %.1f MB, ratio %.2f×", f*1024/1e6, kib/f)
		}
		anonNote := ""
		if a := res["anon-peak-KiB"]; a > 0 {
			anonNote = fmt.Sprintf("; anonymous %.1f MB", a*1024/1e6)
			if f := res["floor-anon-peak-KiB"]; f > 0 {
				anonNote += fmt.Sprintf(" vs the floor's %.1f MB", f*1024/1e6)
			}
		}
		row(target, fmt.Sprintf("%.1f MB (%.0f KiB; initial %.0f KiB, unchanged %.0f KiB%s%s)", mb, kib, res["peak-KiB"], res["unchanged-peak-KiB"], floorNote, anonNote), status)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "MB = 10^6 bytes; RSS is the larger of the initial and the unchanged pass (ru_maxrss of the process alone, read by bench/rssrun, KiB); the floor is bench/rssfloor, the bare job in a process of its own, built the same way (static, cgo off, as make package builds the release); anonymous is the largest RssAnon sampled every millisecond (heap, stacks, runtime data), the rest of the RSS being the executable's own file-backed pages.")
}

// thousands formats n with a comma between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
