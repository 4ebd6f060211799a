package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
)

// printStatusTable writes the status as a table a person reads.
func printStatusTable(w io.Writer, s agent.Status, now time.Time) error {
	if _, err := fmt.Fprintf(w, "State: %s%s — %s\n", s.Phase, warningCount(s), s.Message); err != nil {
		return err
	}
	if s.Identity != "" {
		fmt.Fprintf(w, "Identity: %s\n", s.Identity)
	}
	for _, warning := range s.Warnings {
		fmt.Fprintf(w, "Settings warning: %s\n", warning)
	}
	for _, c := range s.Certificates {
		if c.ValidityWarning != "" {
			fmt.Fprintf(w, "WARNING %s: %s\n", c.Key, c.ValidityWarning)
		}
	}
	for _, c := range s.Certificates {
		if c.Pending != "" {
			fmt.Fprintf(w, "PENDING %s: %s\n", c.Key, c.Pending)
		}
	}
	if !s.Started.IsZero() {
		fmt.Fprintf(w, "Agent started: %s (%s); status written %s\n", s.Started.UTC().Format(time.RFC3339), ago(s.Started, now), ago(s.Updated, now))
	}
	for _, d := range s.Detection {
		fmt.Fprintf(w, "Change detection in %s: %s\n", d.Vault, detectionLine(d))
	}
	if !s.LastKnownSince.IsZero() {
		fmt.Fprintf(w, "LAST KNOWN: rows marked * are what the previous run knew (written %s, %s); this process has not finished checking them\n",
			s.LastKnownSince.UTC().Format(time.RFC3339), ago(s.LastKnownSince, now))
	}
	fmt.Fprintln(w)
	n := agent.CountKinds(s.Certificates)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if n.Certificates > 0 || n.Secrets == 0 {
		fmt.Fprintln(tw, "CERTIFICATE\tVERSION\tTHUMBPRINT\tEXPIRES\tLAST CHECK\tNEXT CHECK\tLAST ERROR")
		for _, c := range s.Certificates {
			if c.IsSecret() {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				rowKey(c), dash(shortVersion(c.InstalledVersion)), dash(c.Thumbprint), expiry(c.NotAfter, now),
				lastCheck(c, now), next(c, now), dash(lastError(c)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if n.Secrets == 0 {
		return nil
	}
	if n.Certificates > 0 {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(tw, "SECRET\tVERSION\tFILE\tEXPIRES\tLAST CHECK\tNEXT CHECK\tLAST ERROR")
	for _, c := range s.Certificates {
		if !c.IsSecret() {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			rowKey(c), dash(shortVersion(c.InstalledVersion)), dash(c.Location), expiry(c.NotAfter, now),
			lastCheck(c, now), next(c, now), dash(lastError(c)))
	}
	return tw.Flush()
}

// rowKey is the entry's key, marked when it is the previous run's.
func rowKey(c agent.CertStatus) string {
	if c.LastKnown {
		return "* " + c.Key
	}
	return c.Key
}

// detectionLine says how a vault's unchanged polls are detected and what
// each costs.
func detectionLine(d agent.VaultDetection) string {
	if d.Strategy == agent.StrategyVaultWide {
		return fmt.Sprintf("vault-wide, %s request(s) of the vault listing per unchanged poll instead of %d version listing(s)", d.VaultListRequests, d.PerSecretRequests)
	}
	return fmt.Sprintf("per-secret, %d version listing(s) per unchanged poll (vault listing: %s)", d.PerSecretRequests, d.VaultListRequests)
}

// warningCount says how many certificates have a validity warning:
// " (1 certificate with a warning)"; "" for none.
func warningCount(s agent.Status) string {
	n := 0
	for _, c := range s.Certificates {
		if c.ValidityWarning != "" {
			n++
		}
	}
	switch n {
	case 0:
		return ""
	case 1:
		return " (1 certificate with a warning)"
	}
	return fmt.Sprintf(" (%d certificates with a warning)", n)
}

// lastCheck is when the certificate was last checked, and the check in
// flight: "checking for 12s (attempt 3 of 25)".
func lastCheck(c agent.CertStatus, now time.Time) string {
	if c.CheckingSince.IsZero() {
		return ago(c.LastCheck, now)
	}
	msg := fmt.Sprintf("checking for %s (attempt %d", roundDur(now.Sub(c.CheckingSince)), c.Attempt)
	if c.MaxAttempts > 0 {
		msg += fmt.Sprintf(" of %d", c.MaxAttempts)
	}
	msg += ")"
	if !c.LastCheck.IsZero() {
		msg += ", before: " + ago(c.LastCheck, now)
	}
	return msg
}

// next is when the certificate is checked next; "-" while it is checked.
func next(c agent.CertStatus, now time.Time) string {
	if !c.CheckingSince.IsZero() {
		return "-"
	}
	return until(c.NextCheck, now)
}

// lastError joins the last error, the withdrawal notice and the reload
// command's failure.
func lastError(c agent.CertStatus) string {
	var parts []string
	if c.LastError != "" {
		parts = append(parts, c.LastError)
	}
	if c.Notice != "" {
		parts = append(parts, c.Notice)
	}
	if c.HookError != "" {
		parts = append(parts, "reload: "+c.HookError)
	}
	return strings.Join(parts, "; ")
}

func shortVersion(v string) string {
	if len(v) > 12 {
		return v[:12] + "…"
	}
	return v
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func expiry(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	days := int(t.Sub(now).Hours() / 24)
	return fmt.Sprintf("%s (%dd)", t.UTC().Format("2006-01-02"), days)
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return roundDur(now.Sub(t)) + " ago"
}

func until(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if !t.After(now) {
		return "now"
	}
	return "in " + roundDur(t.Sub(now))
}

func roundDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return "0s"
	case d < time.Hour:
		return d.Round(time.Second).String()
	default:
		return d.Round(time.Minute).String()
	}
}
