package transport

import (
	"bytes"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRoute(t *testing.T) {
	tests := []struct {
		in      string
		want    Route
		wantErr string
	}{
		{in: "*.vault.azure.net=127.0.0.1:8443", want: Route{Host: "*.vault.azure.net", Addr: "127.0.0.1:8443"}},
		{in: "169.254.169.254:80=127.0.0.1:8080", want: Route{Host: "169.254.169.254", Port: "80", Addr: "127.0.0.1:8080"}},
		{in: "MyVault.Vault.Azure.Net=[::1]:9", want: Route{Host: "myvault.vault.azure.net", Addr: "[::1]:9"}},
		{in: "no-equals", wantErr: "want HOST[:PORT]=ADDR:PORT"},
		{in: "a.b=127.0.0.1", wantErr: "must be ADDR:PORT"},
		{in: "a.*.b=127.0.0.1:1", wantErr: "only a leading"},
		{in: "vault.test:=127.0.0.1:1", wantErr: "the port after \"vault.test:\" is empty"},
		{in: "[:]:=:0", wantErr: "is empty"},
	}
	for _, tt := range tests {
		got, err := ParseRoute(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRoute(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRoute(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	o := Options{Routes: []Route{
		{Host: "*.vault.azure.net", Addr: "127.0.0.1:1"},
		{Host: "169.254.169.254", Port: "80", Addr: "127.0.0.1:2"},
	}}
	for addr, want := range map[string]string{
		"myvault.vault.azure.net:443": "127.0.0.1:1",
		"MYVAULT.VAULT.AZURE.NET:443": "127.0.0.1:1",
		"vault.azure.net:443":         "vault.azure.net:443",
		"evilvault.azure.net:443":     "evilvault.azure.net:443",
		"169.254.169.254:80":          "127.0.0.1:2",
		"169.254.169.254:443":         "169.254.169.254:443",
	} {
		if got := o.resolve(addr); got != want {
			t.Errorf("resolve(%q) = %q, want %q", addr, got, want)
		}
	}
}

// TestClientRoutesAndVerifies reaches a TLS server by a real-looking name,
// with verification on, only through a route and a CA file.
func TestClientRoutesAndVerifies(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Host)
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(srv.URL, "https://")
	route, err := ParseRoute("*.example.com=" + addr)
	if err != nil {
		t.Fatal(err)
	}

	c, err := NewClient(Options{Routes: []Route{route}, CAFile: caFile}, ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get("https://vault1.example.com/x")
	if err != nil {
		t.Fatalf("routed request failed: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(body) != "vault1.example.com" {
		t.Errorf("server saw Host %q, want the original name", body)
	}

	// Without the CA the server's certificate must be refused.
	noCA, err := NewClient(Options{Routes: []Route{route}}, ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noCA.Get("https://vault1.example.com/x"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("request without the CA file: err = %v, want a certificate error", err)
	}

	// A name the certificate does not cover must be refused even when routed.
	wrong, err := ParseRoute("other.test=" + addr)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := NewClient(Options{Routes: []Route{wrong}, CAFile: caFile}, ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Get("https://other.test/x"); err == nil {
		t.Error("request to a name outside the server certificate succeeded")
	}
}

func TestRootCAsErrors(t *testing.T) {
	if _, err := (Options{CAFile: filepath.Join(t.TempDir(), "missing.pem")}).RootCAs(); err == nil {
		t.Error("missing CA file accepted")
	}
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (Options{CAFile: empty}).RootCAs(); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CA file without certificates: err = %v", err)
	}
}

// TestClientLogsRequestsAtDebug checks the one Debug line per request that
// --log-level debug promises, and that it leaves out the query.
func TestClientLogsRequestsAtDebug(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	var buf bytes.Buffer
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		buf.Reset()
		log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
		c, err := NewClient(Options{}, ClientConfig{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Get(srv.URL + "/secrets/web?api-version=7.5&hidden=q")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		got := buf.String()
		if level == slog.LevelInfo {
			if got != "" {
				t.Errorf("at info: logged %q, want nothing", got)
			}
			continue
		}
		if strings.Count(got, "\n") != 1 || !strings.Contains(got, "method=GET") || !strings.Contains(got, "path=/secrets/web") || !strings.Contains(got, "status=418") {
			t.Errorf("at debug: logged %q, want one line with method, path and status", got)
		}
		if strings.Contains(got, "hidden") || strings.Contains(got, "api-version") {
			t.Errorf("at debug: logged the query: %q", got)
		}
	}
	srv.Close()
	buf.Reset()
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := NewClient(Options{}, ClientConfig{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(srv.URL + "/x"); err == nil {
		t.Fatal("request to a closed server succeeded")
	}
	if got := buf.String(); !strings.Contains(got, "http request failed") || !strings.Contains(got, "error=") {
		t.Errorf("failed request: logged %q, want the failure", got)
	}
}
