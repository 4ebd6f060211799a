package main

import (
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
)

func TestStatusTableMarksChecksInFlightAndLastKnownRows(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := agent.Status{Phase: agent.Transitioning, Message: "initial sync", Updated: now, Started: now.Add(-time.Minute),
		LastKnownSince: now.Add(-time.Hour),
		Certificates: []agent.CertStatus{
			{Key: "v/web", InstalledVersion: "0123456789abcdef", LastCheck: now.Add(-time.Hour), LastKnown: true,
				CheckingSince: now.Add(-12 * time.Second), Attempt: 1},
			{Key: "v/api", Attempts: 2, LastError: "key vault: HTTP 503", CheckingSince: now.Add(-3 * time.Second), Attempt: 3, MaxAttempts: 25},
		}}
	var b strings.Builder
	if err := printStatusTable(&b, s, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Agent started: 2026-12-01T09:59:00Z (1m0s ago)",
		"LAST KNOWN: rows marked * are what the previous run knew (written 2026-12-01T09:00:00Z, 1h0m0s ago)",
		"* v/web", "checking for 12s (attempt 1), before: 1h0m0s ago",
		"checking for 3s (attempt 3 of 25)", "key vault: HTTP 503",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "* v/api") {
		t.Errorf("a row this process checked is marked last known:\n%s", out)
	}
}
