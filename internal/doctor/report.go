// Package doctor diagnoses why a machine cannot keep its certificates:
// identity, name resolution, TLS, Key Vault's challenge and permissions,
// the clock and the store, in that order. Each check prints one line, ✓,
// ✗ or ! (a warning), and a failure or warning says what to fix. No token or secret value is printed.
package doctor

import (
	"fmt"
	"io"
	"strings"
)

// Outcome is how a check ended.
type Outcome int

// The outcomes of a check.
const (
	// Pass means the check succeeded.
	Pass Outcome = iota
	// Fail means the check found a problem; Fix says what to do.
	Fail
	// Skip means an earlier failure made the check impossible.
	Skip
	// Warn means akvvm works, at a cost the operator may want to remove;
	// Fix says how. A warning does not fail the report.
	Warn
)

// mark is the symbol printed at the start of a result's line.
func (o Outcome) mark() string {
	switch o {
	case Pass:
		return "✓"
	case Fail:
		return "✗"
	case Warn:
		return "!"
	}
	return "–"
}

// Result is the outcome of one check.
type Result struct {
	Outcome Outcome
	// Check names what was checked, such as "DNS myvault.vault.azure.net".
	Check string
	// Detail says what was found.
	Detail string
	// Fix says what to do about a failure.
	Fix string
}

// Report prints results as they come and counts them.
type Report struct {
	w                       io.Writer
	passed, failed, skipped int
	failures                []string
	warnings                []string
}

// NewReport returns a report that prints to w.
func NewReport(w io.Writer) *Report { return &Report{w: w} }

// Add prints r and counts it.
func (rep *Report) Add(r Result) {
	switch r.Outcome {
	case Pass:
		rep.passed++
	case Fail:
		rep.failed++
		rep.failures = append(rep.failures, r.Check)
	case Warn:
		rep.warnings = append(rep.warnings, r.Check)
	default:
		rep.skipped++
	}
	line := r.Outcome.mark() + " " + r.Check
	if r.Detail != "" {
		line += ": " + r.Detail
	}
	fmt.Fprintln(rep.w, oneLine(line))
	if (r.Outcome == Fail || r.Outcome == Warn) && r.Fix != "" {
		fmt.Fprintln(rep.w, "    fix: "+oneLine(r.Fix))
	}
}

// Section prints a heading for the checks that follow.
func (rep *Report) Section(title string) { fmt.Fprintln(rep.w, "\n"+title) }

// Failed returns the number of failed checks.
func (rep *Report) Failed() int { return rep.failed }

// AllPassed reports whether every check passed: none failed or was
// skipped (a warning passes).
func (rep *Report) AllPassed() bool { return rep.failed == 0 && rep.skipped == 0 }

// Summary is the last line: how many checks passed, failed and were
// skipped, and which warned.
func (rep *Report) Summary() string {
	total := rep.passed + rep.failed + rep.skipped + len(rep.warnings)
	warned := ""
	if n := len(rep.warnings); n > 0 {
		warned = fmt.Sprintf(", %s (%s)", plural(n, "warning"), strings.Join(rep.warnings, ", "))
	}
	if rep.failed == 0 && rep.skipped == 0 {
		return fmt.Sprintf("all %d checks passed%s", total, warned)
	}
	s := fmt.Sprintf("%d of %d checks failed", rep.failed, total)
	if rep.skipped > 0 {
		s += fmt.Sprintf(", %d skipped", rep.skipped)
	}
	if len(rep.failures) > 0 {
		s += " (first: " + rep.failures[0] + ")"
	}
	return s + warned
}

// oneLine keeps a result on one line whatever a server's message holds.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
