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
	if _, err := fmt.Fprintf(w, "State: %s — %s\n", s.Phase, s.Message); err != nil {
		return err
	}
	if s.Identity != "" {
		fmt.Fprintf(w, "Identity: %s\n", s.Identity)
	}
	for _, warning := range s.Warnings {
		fmt.Fprintf(w, "Settings warning: %s\n", warning)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CERTIFICATE\tVERSION\tTHUMBPRINT\tEXPIRES\tLAST CHECK\tNEXT CHECK\tLAST ERROR")
	for _, c := range s.Certificates {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			c.Key, dash(shortVersion(c.InstalledVersion)), dash(c.Thumbprint), expiry(c.NotAfter, now),
			ago(c.LastCheck, now), until(c.NextCheck, now), dash(lastError(c)))
	}
	return tw.Flush()
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
