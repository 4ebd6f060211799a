package keyvault

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/akvvm/akvvm/internal/emulator/pki"
	"github.com/akvvm/akvvm/internal/transport"
)

// hostileVault stands for myvault.vault.azure.net in front of the
// emulator: it passes every request on, except the secret reads that
// answer decides to answer itself. It also serves evil.example.com and
// counts the requests that reach it.
type hostileVault struct {
	srv    *httptest.Server
	opts   transport.Options // myvault and evil.example.com reach srv
	answer atomic.Value      // func(http.ResponseWriter, *http.Request) bool
	evil   atomic.Int32
	reads  atomic.Int32 // secret reads that answer answered
}

func newHostileVault(t *testing.T, k *kvEnv) *hostileVault {
	t.Helper()
	ca, err := pki.LoadOrCreate("")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate([]string{"myvault.vault.azure.net", "evil.example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	emuRoot, err := os.ReadFile(k.opts.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, append(emuRoot, ca.RootPEM()...), 0o600); err != nil {
		t.Fatal(err)
	}
	upstream, err := transport.NewClient(k.opts, transport.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := &hostileVault{}
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.Out.URL.Scheme, r.Out.URL.Host = "https", r.In.Host },
		Transport: upstream.Transport,
	}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Host, "evil.example.com") {
			h.evil.Add(1)
			_, _ = w.Write([]byte(`{"value":"planted","id":"https://evil.example.com/secrets/web/1"}`))
			return
		}
		answer, _ := h.answer.Load().(func(http.ResponseWriter, *http.Request) bool)
		if answer != nil && r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/secrets/web") && r.Header.Get("Authorization") != "" {
			h.reads.Add(1)
			if answer(w, r) {
				return
			}
			h.reads.Add(-1)
		}
		proxy.ServeHTTP(w, r)
	}))
	h.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	addr := h.srv.Listener.Addr().String()
	h.opts = transport.Options{CAFile: caFile, Routes: append([]transport.Route{
		{Host: "myvault.vault.azure.net", Addr: addr},
		{Host: "evil.example.com", Addr: addr},
	}, k.opts.Routes...)}
	return h
}

func (h *hostileVault) set(answer func(http.ResponseWriter, *http.Request) bool) {
	h.answer.Store(answer)
}

// A vault that redirects is refused at once, without a retry and without
// a request to the other host; the error names both hosts and counts as
// permanent with the redirect's status.
func TestRedirectFromTheVaultIsRefused(t *testing.T) {
	k := newKVEnv(t)
	h := newHostileVault(t, k)
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
		h.reads.Store(0)
		h.set(func(w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, "https://evil.example.com"+r.URL.RequestURI(), status)
			return true
		})
		err := get(k.clients(t, "", h.opts, policy.RetryOptions{RetryDelay: time.Millisecond}), time.Minute)
		var kv *Error
		if !errors.As(err, &kv) {
			t.Fatalf("Get = %v, want a *keyvault.Error", err)
		}
		want := "key vault: get secret web in https://myvault.vault.azure.net: myvault.vault.azure.net answered with a redirect to evil.example.com (HTTP " +
			strconv.Itoa(status) + "); Key Vault and the identity endpoint never redirect, so akvvm refuses to follow it"
		if err.Error() != want {
			t.Errorf("error\n%q, want\n%q", err, want)
		}
		if !kv.Permanent() || !kv.Refused() || kv.StatusCode() != status {
			t.Errorf("Permanent %v Refused %v StatusCode %d; want true, true, %d", kv.Permanent(), kv.Refused(), kv.StatusCode(), status)
		}
		if n := h.reads.Load(); n != 1 {
			t.Errorf("the vault saw %d reads, want 1 (no retry)", n)
		}
	}
	if n := h.evil.Load(); n != 0 {
		t.Errorf("evil.example.com got %d requests, want 0", n)
	}
}

// A secret value larger than MaxResponseSize is refused while it is read,
// and before it is read when the Content-Length says so; nothing is
// retried.
func TestOversizeValueIsRefused(t *testing.T) {
	k := newKVEnv(t)
	h := newHostileVault(t, k)
	big := append(append([]byte(`{"value":"`), bytes.Repeat([]byte("A"), 32<<20)...), `"}`...)
	var written atomic.Int64
	for _, tc := range []struct {
		name    string
		chunked bool
		mention string
	}{
		{name: "Content-Length", mention: "(Content-Length " + strconv.Itoa(len(big)) + ")"},
		{name: "chunked", chunked: true, mention: "answered with more than 1 MiB;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.reads.Store(0)
			written.Store(0)
			done := make(chan struct{})
			h.set(func(w http.ResponseWriter, r *http.Request) bool {
				defer close(done)
				w.Header().Set("Content-Type", "application/json")
				if !tc.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(big)))
				}
				for i := 0; i < len(big); i += 64 << 10 {
					n, err := w.Write(big[i:min(i+64<<10, len(big))])
					written.Add(int64(n))
					if err != nil {
						return true
					}
				}
				return true
			})
			err := get(k.clients(t, "", h.opts, policy.RetryOptions{RetryDelay: time.Millisecond}), time.Minute)
			var kv *Error
			if !errors.As(err, &kv) {
				t.Fatalf("Get = %v, want a *keyvault.Error", err)
			}
			t.Log(err)
			for _, m := range []string{"myvault.vault.azure.net answered with more than 1 MiB", tc.mention,
				"akvvm reads at most 1 MiB from Key Vault (a secret value is at most 25 KB), so it refused the answer"} {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if !kv.Permanent() || kv.StatusCode() != http.StatusOK {
				t.Errorf("Permanent %v StatusCode %d; want true, 200", kv.Permanent(), kv.StatusCode())
			}
			if n := h.reads.Load(); n != 1 {
				t.Errorf("the vault saw %d reads, want 1 (no retry)", n)
			}
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the vault is still writing 20 s after the client refused the answer")
			}
			if w := written.Load(); w >= int64(len(big)) {
				t.Errorf("the vault could write all %d bytes, want the connection dropped before", w)
			}
		})
	}
}

// A value of Key Vault's own largest size still arrives.
func TestValueOfKeyVaultsLimitArrives(t *testing.T) {
	k := newKVEnv(t)
	h := newHostileVault(t, k)
	value := strings.Repeat("B", 25<<10)
	h.set(func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"value":"` + value + `","id":"https://myvault.vault.azure.net/secrets/web/0123456789abcdef0123456789abcdef","attributes":{"enabled":true}}`))
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := k.clients(t, "", h.opts, policy.RetryOptions{}).Get(ctx, "https://myvault.vault.azure.net", "web", "")
	if err != nil || len(s.value) != len(value) {
		t.Fatalf("Get = %v, want the 25 KB value", err)
	}
}

// A redirect from the identity endpoint reaches the call's error as the
// cause, permanent, without the vault's status: the vault was not asked.
func TestRedirectFromTheIdentityEndpointIsTheCause(t *testing.T) {
	k := newKVEnv(t)
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://evil.example.com/token", http.StatusFound)
	}))
	defer imds.Close()
	err := get(k.clients(t, imds.URL+"/metadata/identity", k.opts, policy.RetryOptions{RetryDelay: time.Millisecond}), time.Minute)
	var kv *Error
	if !errors.As(err, &kv) {
		t.Fatalf("Get = %v, want a *keyvault.Error", err)
	}
	want := "key vault: get secret web in https://myvault.vault.azure.net: identity: system-assigned identity at " + imds.URL +
		"/metadata/identity/oauth2/token: " + strings.TrimPrefix(imds.URL, "http://") +
		" answered with a redirect to evil.example.com (HTTP 302); Key Vault and the identity endpoint never redirect, so akvvm refuses to follow it"
	if err.Error() != want {
		t.Errorf("error\n%q, want\n%q", err, want)
	}
	if !kv.Permanent() || kv.StatusCode() != 0 {
		t.Errorf("Permanent %v StatusCode %d; want true, 0", kv.Permanent(), kv.StatusCode())
	}
}
