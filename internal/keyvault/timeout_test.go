package keyvault

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/akvvm/akvvm/internal/emulator"
	"github.com/akvvm/akvvm/internal/identity"
	"github.com/akvvm/akvvm/internal/transport"
)

// kvEnv is an in-process emulator with one vault and a certificate, and
// Clients reaching it through the production code: the identity
// credential and azsecrets.
type kvEnv struct {
	emu  *emulator.Emulator
	opts transport.Options
}

// startVault runs an in-process emulator with the vault myvault.
func startVault(t *testing.T) *emulator.Emulator {
	t.Helper()
	e, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	if _, err := e.CreateVault(emulator.VaultSpec{Name: "myvault"}); err != nil {
		t.Fatal(err)
	}
	return e
}

func newKVEnv(t *testing.T) *kvEnv {
	t.Helper()
	e := startVault(t)
	if _, err := e.CreateCertificate("myvault", "web", emulator.CertificateSpec{}); err != nil {
		t.Fatal(err)
	}
	return &kvEnv{emu: e, opts: e.TransportOptions()}
}

// clients builds Clients with the identity at endpoint ("" = the
// emulator's) and azcore's retry delays.
func (k *kvEnv) clients(t *testing.T, endpoint string, opts transport.Options, retry policy.RetryOptions) *Clients {
	t.Helper()
	if endpoint == "" {
		endpoint = k.emu.IMDSEndpoint()
	}
	hc, err := transport.NewClient(opts, transport.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := identity.New(identity.Options{Endpoint: endpoint, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return NewClients(cred, Options{HTTPClient: hc, Retry: retry})
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// get fetches the latest version of web with a budget, as the agent does.
func get(c *Clients, budget time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	_, err := c.Get(ctx, "https://myvault.vault.azure.net", "web", "")
	return err
}

// A call cut short by the check's budget names the failure of its latest
// try, whatever it was, and keeps its HTTP status.
func TestCallCutByTheBudgetNamesTheLastCause(t *testing.T) {
	k := newKVEnv(t)
	refused, err := transport.ParseRoute("*.vault.azure.net=" + closedPort(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		fault    *emulator.Fault
		endpoint string
		route    *transport.Route
		// status is Key Vault's HTTP status; 0 when the vault never answered.
		status  int
		mention []string
	}{
		{name: "vault answers 503", fault: &emulator.Fault{Op: emulator.OpGetSecret, Kind: emulator.FaultStatus, Status: 503, RetryAfter: 1},
			status: 503, mention: []string{"HTTP 503 ServiceUnavailable", "ran out of this check's time"}},
		{name: "vault silent", fault: &emulator.Fault{Op: emulator.OpAny, Vault: "myvault", Kind: emulator.FaultStall},
			mention: []string{"accepted the connection but did not respond within this check's time"}},
		{name: "vault refuses connections", route: &refused,
			mention: []string{"connection refused", "ran out of this check's time"}},
		{name: "identity answers 500", fault: &emulator.Fault{Op: emulator.OpToken, Kind: emulator.FaultStatus, Status: 500},
			mention: []string{"identity:", "HTTP 500", "gave up waiting for a retry"}},
		{name: "identity unreachable", endpoint: "http://" + closedPort(t) + "/metadata/identity",
			mention: []string{"identity:", "connection refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k.emu.ClearFaults()
			if tc.fault != nil {
				if _, err := k.emu.AddFault(*tc.fault); err != nil {
					t.Fatal(err)
				}
			}
			opts := k.opts
			if tc.route != nil {
				opts.Routes = []transport.Route{*tc.route}
			}
			err := get(k.clients(t, tc.endpoint, opts, policy.RetryOptions{}), 1500*time.Millisecond)
			var kv *Error
			if !errors.As(err, &kv) {
				t.Fatalf("Get = %v, want a *keyvault.Error", err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %q does not say the time ran out", err)
			}
			t.Logf("%v", err)
			if kv.StatusCode() != tc.status {
				t.Errorf("StatusCode() = %d, want %d", kv.StatusCode(), tc.status)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
	k.emu.ClearFaults()
}

// A stalled try is given up after the per-try limit and tried again on a
// new connection; with every try stalled the error says so.
func TestEveryTryAtItsLimitSaysSo(t *testing.T) {
	k := newKVEnv(t)
	if _, err := k.emu.AddFault(emulator.Fault{Op: emulator.OpAny, Vault: "myvault", Kind: emulator.FaultStall}); err != nil {
		t.Fatal(err)
	}
	err := get(k.clients(t, "", k.opts, policy.RetryOptions{TryTimeout: 100 * time.Millisecond, RetryDelay: 10 * time.Millisecond}), time.Minute)
	if err == nil || !strings.Contains(err.Error(), "no answer from the vault (the connection was accepted) within the per-try limit of 100ms") {
		t.Errorf("Get = %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "api-version") {
		t.Errorf("the error carries the request URL: %v", err)
	}
	if n := k.emu.Count(emulator.OpGetSecret, "myvault"); n < 2 {
		t.Errorf("the vault saw %d tries, want the stalled one tried again", n)
	}
}

// A call that fails on its own is reported as before.
func TestFailureWithinTheBudgetIsUnchanged(t *testing.T) {
	k := newKVEnv(t)
	if _, err := k.emu.AddFault(emulator.Fault{Op: emulator.OpGetSecret, Kind: emulator.FaultStatus, Status: http.StatusNotFound, Code: "SecretNotFound"}); err != nil {
		t.Fatal(err)
	}
	err := get(k.clients(t, "", k.opts, policy.RetryOptions{}), time.Minute)
	var kv *Error
	if !errors.As(err, &kv) || kv.StatusCode() != 404 || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "time") {
		t.Errorf("Get = %v", err)
	}
}
