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

func TestStatusTableShowsEachVaultsChangeDetection(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := agent.Status{Phase: agent.Success, Message: "ok", Updated: now, Detection: []agent.VaultDetection{
		{Vault: "https://a.vault.azure.net", Strategy: agent.StrategyVaultWide, PerSecretRequests: 200, VaultListRequests: "8"},
		{Vault: "https://b.vault.azure.net", Strategy: agent.StrategyPerSecret, PerSecretRequests: 2, VaultListRequests: "more than 1"},
	}}
	var b strings.Builder
	if err := printStatusTable(&b, s, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Change detection in https://a.vault.azure.net: vault-wide, 8 request(s) of the vault listing per unchanged poll instead of 200 version listing(s)",
		"Change detection in https://b.vault.azure.net: per-secret, 2 version listing(s) per unchanged poll (vault listing: more than 1)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestStatusTableShowsValidityWarnings(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	text := "version 0123 expires on 2026-12-11T10:00:00Z (in 10 days) and the vault offers no newer usable version: renew or rotate the certificate in Key Vault"
	s := agent.Status{Phase: agent.Success, Message: "2 of 2 certificates installed; warning: v/web: " + text, Updated: now,
		Certificates: []agent.CertStatus{
			{Key: "v/api", InstalledVersion: "4567", NotAfter: now.Add(200 * 24 * time.Hour)},
			{Key: "v/web", InstalledVersion: "0123", NotAfter: now.Add(10 * 24 * time.Hour), ValidityWarning: text},
		}}
	var b strings.Builder
	if err := printStatusTable(&b, s, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"State: success (1 certificate with a warning) — 2 of 2", "WARNING v/web: " + text} {
		if !strings.Contains(out, want) {
			t.Errorf("status table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "WARNING v/api") {
		t.Errorf("a certificate without a warning is shown as one:\n%s", out)
	}
}

func TestStatusTableListsSecretsApart(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := agent.Status{Phase: agent.Success, Message: "1 of 1 certificates installed and 1 of 1 secrets written", Updated: now,
		Certificates: []agent.CertStatus{
			{Key: "v/db", Kind: agent.KindSecret, InstalledVersion: "0123456789abcdef", Location: "/etc/app/db", LastCheck: now},
			{Key: "v/web", InstalledVersion: "fedcba9876543210", Thumbprint: "AB12", LastCheck: now},
		}}
	var b strings.Builder
	if err := printStatusTable(&b, s, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	cert, sec := strings.Index(out, "CERTIFICATE"), strings.Index(out, "SECRET ")
	if cert < 0 || sec < cert || !strings.Contains(out[sec:], "/etc/app/db") || strings.Contains(out[cert:sec], "v/db") || strings.Contains(out[sec:], "v/web") {
		t.Errorf("status table:\n%s", out)
	}
	s.Certificates = s.Certificates[:1]
	b.Reset()
	_ = printStatusTable(&b, s, now)
	if strings.Contains(b.String(), "CERTIFICATE") {
		t.Errorf("a certificate table without certificates:\n%s", b.String())
	}
}

func TestSyncResultCountsSecrets(t *testing.T) {
	st := agent.Status{Certificates: []agent.CertStatus{
		{Key: "v/db", Kind: agent.KindSecret},
		{Key: "v/web", InstalledVersion: "1"},
	}}
	if r := judgeSync(st); r.code != exitNotInstalled || r.summary != "1 of 1 certificate and 1 secret not installed: v/db" {
		t.Errorf("judgeSync = %+v", r)
	}
	st.Certificates[0].InstalledVersion = "2"
	if r := judgeSync(st); r.code != exitAllCurrent || r.summary != "all of 1 certificate and 1 secret installed and current" {
		t.Errorf("judgeSync = %+v", r)
	}
}
