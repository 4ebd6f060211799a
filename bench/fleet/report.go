package fleet

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Write renders r as the results file's section for one fleet size.
func (r *Report) Write(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "## N = %d machines, %d certificates, polling interval %v, vault limit %d per 10 s (%d in scenario c)\n\n",
		c.Agents, c.Certs, c.Interval, c.Limit, c.ThrottledLimit)
	fmt.Fprintln(w, "| phase | limit/10 s | virtual time | all converged | time until every machine has it (p50 / p90 / last) | failed machines | vault requests | 429s | peak/10 s window (received / admitted) | peak any 10 s | windows with 429 | requests per machine (mean / max) | tokens per machine | checks (failed / 429) | real time | CPU |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, p := range r.Phases {
		conv := "–"
		times := "–"
		if p.Goal {
			conv = "yes"
			if !p.Converged {
				conv = fmt.Sprintf("NO (%d not)", p.NotConverged)
			}
			times = fmt.Sprintf("%v / %v / %v", round(p.P50), round(p.P90), round(p.Convergence))
		}
		t := p.Traffic
		fmt.Fprintf(w, "| %s | %d | %v | %s | %s | %d | %d | %d | %d / %d | %d | %d | %.1f / %d | %.2f | %d (%d / %d) | %v | %v |\n",
			p.Name, p.Limit, round(p.Duration), conv, times, p.FailedAgents, t.Received, t.Throttled,
			t.PeakWindow, t.PeakAdmitted, t.PeakSliding, t.ThrottledWindows, p.PerAgentMean, p.PerAgentMax,
			p.TokensPerAgent, p.Checks, p.FailedChecks, p.ThrottledChecks, p.Wall.Round(10*time.Millisecond), p.CPU.Round(10*time.Millisecond))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Requests per operation (429s included):")
	fmt.Fprintln(w)
	for _, p := range r.Phases {
		ops := make([]string, 0, len(p.Traffic.ByOp))
		for op := range p.Traffic.ByOp {
			ops = append(ops, op)
		}
		sort.Strings(ops)
		var parts []string
		for _, op := range ops {
			parts = append(parts, fmt.Sprintf("%s %d", op, p.Traffic.ByOp[op]))
		}
		fmt.Fprintf(w, "- %s: %s\n", p.Name, strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	var wall, cpu time.Duration
	for _, p := range r.Phases {
		wall += p.Wall
		cpu += p.CPU
	}
	last := r.Phases[len(r.Phases)-1]
	fmt.Fprintf(w, "Simulation cost: setup (certificates, %d machines) %v real, %v CPU; scenarios %v real, %v CPU; peak RSS %.0f MB; heap in use at the end %.0f MB, %d goroutines before the machines stopped.\n\n",
		c.Agents, r.Setup.Round(10*time.Millisecond), r.SetupCPU.Round(10*time.Millisecond), wall.Round(10*time.Millisecond), cpu.Round(10*time.Millisecond),
		float64(r.MaxRSS)/1e6, float64(last.HeapInuse)/1e6, last.Goroutines)
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
