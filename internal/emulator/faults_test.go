package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

func TestVaultFaults(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	if _, err := e.SetSecret("myvault", "cert", SecretSpec{Value: "value"}); err != nil {
		t.Fatal(err)
	}
	c := httpClient(t, e)
	// Fresh connections: Go's transport silently retries a GET whose reused connection is reset.
	c.Transport.(*http.Transport).DisableKeepAlives = true
	tok := mustToken(t, e, "https://vault.azure.net", "")
	const get = "https://myvault.vault.azure.net/secrets/cert?api-version=7.5"

	tests := []struct {
		name  string
		fault Fault
		check func(t *testing.T, r rawResponse)
	}{
		{"429 with Retry-After", Fault{Op: OpGetSecret, Kind: FaultStatus, Status: 429, RetryAfter: 7}, func(t *testing.T, r rawResponse) {
			if r.status != 429 || r.header.Get("Retry-After") != "7" || r.errorCode() != "Throttled" {
				t.Errorf("got %d Retry-After %q code %q", r.status, r.header.Get("Retry-After"), r.errorCode())
			}
		}},
		{"500", Fault{Op: OpGetSecret, Kind: FaultStatus, Status: 500}, func(t *testing.T, r rawResponse) {
			if r.status != 500 || r.errorCode() != "InternalServerError" {
				t.Errorf("got %d %q", r.status, r.errorCode())
			}
		}},
		{"503", Fault{Op: OpAny, Kind: FaultStatus, Status: 503}, func(t *testing.T, r rawResponse) {
			if r.status != 503 || r.errorCode() != "ServiceUnavailable" {
				t.Errorf("got %d %q", r.status, r.errorCode())
			}
		}},
		{"custom code and message", Fault{Op: OpGetSecret, Kind: FaultStatus, Status: 403, Code: "Forbidden", Message: "Client address is not authorized"}, func(t *testing.T, r rawResponse) {
			if r.status != 403 || r.errorCode() != "Forbidden" || !strings.Contains(string(r.body), "Client address is not authorized") {
				t.Errorf("got %d %s", r.status, r.body)
			}
		}},
		{"403 with an inner code, as Key Vault gives the reason", Fault{Op: OpGetSecret, Kind: FaultStatus, Status: 403, InnerCode: "ForbiddenByFirewall",
			Message: "Client address is not authorized and caller is not a trusted service."}, func(t *testing.T, r rawResponse) {
			want := `{"error":{"code":"Forbidden","message":"Client address is not authorized and caller is not a trusted service.","innererror":{"code":"ForbiddenByFirewall"}}}`
			if r.status != 403 || string(r.body) != want {
				t.Errorf("got %d %s, want %s", r.status, r.body, want)
			}
		}},
		{"connection reset", Fault{Op: OpGetSecret, Kind: FaultReset}, func(t *testing.T, r rawResponse) {
			if r.err == nil {
				t.Errorf("got %d, want a transport error", r.status)
			}
		}},
		{"truncated body", Fault{Op: OpGetSecret, Kind: FaultTruncate}, func(t *testing.T, r rawResponse) {
			if !errors.Is(r.err, io.ErrUnexpectedEOF) {
				t.Errorf("got %d %v, want unexpected EOF while reading the body", r.status, r.err)
			}
		}},
		{"malformed body", Fault{Op: OpGetSecret, Kind: FaultMalformed}, func(t *testing.T, r rawResponse) {
			var v any
			if r.err != nil || r.status != 200 || json.Unmarshal(r.body, &v) == nil {
				t.Errorf("got %d %v %s, want 200 with invalid JSON", r.status, r.err, r.body)
			}
		}},
		{"short delay then the real answer", Fault{Op: OpGetSecret, Kind: FaultDelay, Delay: Duration(time.Millisecond)}, func(t *testing.T, r rawResponse) {
			if r.status != 200 || !strings.Contains(string(r.body), `"value":"value"`) {
				t.Errorf("got %d %s", r.status, r.body)
			}
		}},
		{"fault for another secret does not apply", Fault{Op: OpGetSecret, Secret: "other", Kind: FaultStatus, Status: 500}, func(t *testing.T, r rawResponse) {
			if r.status != 200 {
				t.Errorf("got %d", r.status)
			}
		}},
		{"fault for another vault does not apply", Fault{Op: OpGetSecret, Vault: "other", Kind: FaultStatus, Status: 500}, func(t *testing.T, r rawResponse) {
			if r.status != 200 {
				t.Errorf("got %d", r.status)
			}
		}},
		{"fault for another operation does not apply", Fault{Op: OpListVersions, Kind: FaultStatus, Status: 500}, func(t *testing.T, r rawResponse) {
			if r.status != 200 {
				t.Errorf("got %d", r.status)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(e.ClearFaults)
			tt.fault.Count = 1
			if _, err := e.AddFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			tt.check(t, rawRequest(t, c, http.MethodGet, get, tok, ""))
			if r := rawRequest(t, c, http.MethodGet, get, tok, ""); r.status != 200 {
				t.Errorf("request after a count-1 fault = %d %v, want 200", r.status, r.err)
			}
		})
	}
}

func TestFaultCountAndClear(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	c := httpClient(t, e)
	tok := mustToken(t, e, "https://vault.azure.net", "")
	const list = "https://myvault.vault.azure.net/secrets?api-version=7.5"

	if _, err := e.AddFault(Fault{Op: OpListSecrets, Vault: "MYVAULT", Kind: FaultStatus, Status: 500, Count: 2}); err != nil {
		t.Fatal(err)
	}
	var got []int
	for range 3 {
		got = append(got, rawRequest(t, c, http.MethodGet, list, tok, "").status)
	}
	if got[0] != 500 || got[1] != 500 || got[2] != 200 {
		t.Errorf("statuses = %v, want [500 500 200]", got)
	}
	id, err := e.AddFault(Fault{Op: OpAny, Kind: FaultStatus, Status: 502})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if s := rawRequest(t, c, http.MethodGet, list, tok, "").status; s != 502 {
			t.Errorf("unlimited fault: status %d, want 502", s)
		}
	}
	if !e.RemoveFault(id) || len(e.Faults()) != 0 {
		t.Fatalf("RemoveFault left %v", e.Faults())
	}
	if s := rawRequest(t, c, http.MethodGet, list, tok, "").status; s != 200 {
		t.Errorf("after removal: %d, want 200", s)
	}
}

func TestFaultDelayHonoursCancellation(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	c := httpClient(t, e)
	tok := mustToken(t, e, "https://vault.azure.net", "")
	if _, err := e.AddFault(Fault{Op: OpListSecrets, Kind: FaultDelay, Delay: Duration(10 * time.Minute), Count: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://myvault.vault.azure.net/secrets?api-version=7.5", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("delayed request answered %d; a delay of 10 minutes must outlast the client's 200 ms deadline", resp.StatusCode)
	}
	// The emulator stops waiting when the client leaves: the request is
	// logged as finished, with no response sent.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var done []Request
		for _, r := range e.Requests() {
			if r.Op == OpListSecrets {
				done = append(done, r)
			}
		}
		if len(done) == 1 {
			if done[0].Status != 0 {
				t.Errorf("abandoned delayed request logged with status %d, want 0 (nothing sent)", done[0].Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator still holds the abandoned request 10 s after the client left (logged: %d)", len(done))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSDKRetriesInjected429(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	c := sdkClient(t, e, "https://myvault.vault.azure.net", newCred(e, ""))
	if _, err := e.AddFault(Fault{Op: OpSetSecret, Kind: FaultStatus, Status: 429, Count: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetSecret(context.Background(), "a", azsecrets.SetSecretParameters{Value: to.Ptr("b")}, nil); err != nil {
		t.Fatalf("SetSecret through two 429s: %v", err)
	}
	if n := e.Count(OpSetSecret, "myvault"); n != 4 {
		t.Errorf("setSecret requests = %d, want 4 (two 429s, the 401 challenge, success)", n)
	}
}

func TestIMDSFaults(t *testing.T) {
	e := startEmulator(t, Config{})
	md := map[string]string{"Metadata": "true"}
	const q = "api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
	for _, status := range []int{404, 410, 429, 500} {
		if _, err := e.AddFault(Fault{Op: OpToken, Kind: FaultStatus, Status: status, Count: 1, RetryAfter: 1}); err != nil {
			t.Fatal(err)
		}
		got, h, body := imdsGet(t, e, q, md)
		var eb imdsErrorBody
		if got != status || json.Unmarshal(body, &eb) != nil || eb.Error == "" || h.Get("Retry-After") != "1" {
			t.Errorf("IMDS fault %d: got %d %s", status, got, body)
		}
		if got, _, _ := imdsGet(t, e, q, md); got != 200 {
			t.Errorf("after IMDS fault %d: %d, want 200", status, got)
		}
	}
	if _, err := e.AddFault(Fault{Op: OpToken, Kind: FaultReset, Count: 1}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.IMDSEndpoint()+"?"+q, nil)
	req.Header.Set("Metadata", "true")
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := fresh.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("IMDS reset fault answered %d", resp.StatusCode)
	}
}

func TestFaultValidate(t *testing.T) {
	tests := []struct {
		f    Fault
		want string
	}{
		{Fault{Op: "getSecrets", Kind: FaultReset}, "op"},
		{Fault{Op: OpGetSecret, Kind: "explode"}, "kind"},
		{Fault{Op: OpGetSecret, Kind: FaultStatus, Status: 99}, "status"},
		{Fault{Op: OpGetSecret, Kind: FaultDelay}, "delay"},
		{Fault{Op: OpGetSecret, Kind: FaultReset, Count: -1}, "count"},
		{Fault{Op: OpToken, Kind: FaultStatus, Status: 410}, ""},
	}
	for _, tt := range tests {
		err := tt.f.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want error about %q", tt.f, err, tt.want)
		}
	}
}

func TestFaultStallNeverAnswersUntilTheClientLeaves(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	c := httpClient(t, e)
	tok := mustToken(t, e, "https://vault.azure.net", "")
	if _, err := e.AddFault(Fault{Op: OpListSecrets, Kind: FaultStall}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // Count 0: every matching request stalls
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://myvault.vault.azure.net/secrets?api-version=7.5", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			t.Fatalf("stalled request %d answered %d", i, resp.StatusCode)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("stalled request %d: %v, want the client's deadline", i, err)
		}
	}
	if f := (Fault{Op: OpAny, Kind: FaultStall}); f.Validate() != nil {
		t.Errorf("stall fault refused: %v", f.Validate())
	}
}

func TestHostileFaults(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	if _, err := e.SetSecret("myvault", "cert", SecretSpec{Value: "value"}); err != nil {
		t.Fatal(err)
	}
	c := httpClient(t, e)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	tok := mustToken(t, e, "https://vault.azure.net", "")
	const get = "https://myvault.vault.azure.net/secrets/cert?api-version=7.5"

	t.Run("redirect", func(t *testing.T) {
		t.Cleanup(e.ClearFaults)
		const to = "https://othervault.vault.azure.net/secrets/cert"
		if _, err := e.AddFault(Fault{Op: OpGetSecret, Kind: FaultRedirect, Location: to, Count: 1}); err != nil {
			t.Fatal(err)
		}
		if r := rawRequest(t, c, http.MethodGet, get, tok, ""); r.status != http.StatusFound || r.header.Get("Location") != to {
			t.Errorf("got %d Location %q, want 302 to %s", r.status, r.header.Get("Location"), to)
		}
	})
	t.Run("value replaced and padded", func(t *testing.T) {
		t.Cleanup(e.ClearFaults)
		if _, err := e.AddFault(Fault{Op: OpGetSecret, Kind: FaultValue, Value: "forged", PadTo: 100000, Count: 1}); err != nil {
			t.Fatal(err)
		}
		r := rawRequest(t, c, http.MethodGet, get, tok, "")
		var b struct {
			Value string `json:"value"`
			ID    string `json:"id"`
		}
		if err := json.Unmarshal(r.body, &b); err != nil || r.status != 200 {
			t.Fatalf("got %d %v", r.status, err)
		}
		if len(b.Value) != 100000 || !strings.HasPrefix(b.Value, "forged\n") || !strings.Contains(b.ID, "/secrets/cert/") {
			t.Errorf("value of %d bytes starting %q, id %q; want 100000 bytes starting with the forged value and the real id", len(b.Value), b.Value[:min(10, len(b.Value))], b.ID)
		}
		if r := rawRequest(t, c, http.MethodGet, get, tok, ""); !strings.Contains(string(r.body), `"value":"value"`) {
			t.Errorf("after the fault: %s, want the real value", r.body)
		}
	})
	for _, bad := range []Fault{
		{Op: OpGetSecret, Kind: FaultRedirect, Location: "/relative"},
		{Op: OpGetSecret, Kind: FaultRedirect, Location: "https://x.example", Status: 200},
		{Op: OpListVersions, Kind: FaultValue, PadTo: 10},
		{Op: OpGetSecret, Kind: FaultValue, PadTo: -1},
	} {
		if _, err := e.AddFault(bad); err == nil {
			t.Errorf("AddFault(%+v) succeeded, want a validation error", bad)
		}
	}
}
