package transport

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

func TestNewClientRefusesRedirects(t *testing.T) {
	var followed atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
		_, _ = w.Write([]byte("planted"))
	}))
	defer evil.Close()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		vault := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, evil.URL+"/secrets/web", status)
		}))
		cl, err := NewClient(Options{}, ClientConfig{})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cl.Get(vault.URL + "/secrets/web?api-version=7.4")
		if resp != nil {
			// net/http hands back the redirect response, its body closed.
			if resp.StatusCode != status {
				t.Errorf("HTTP %d: response status %d", status, resp.StatusCode)
			}
		}
		var re *RedirectError
		var ue *url.Error
		if !errors.As(err, &re) || !errors.As(err, &ue) {
			t.Fatalf("HTTP %d: error %v, want a *RedirectError inside a *url.Error", status, err)
		}
		vaultHost, evilHost := strings.TrimPrefix(vault.URL, "http://"), strings.TrimPrefix(evil.URL, "http://")
		want := vaultHost + " answered with a redirect to " + evilHost
		if !strings.HasPrefix(re.Error(), want) || !strings.Contains(re.Error(), "akvvm refuses to follow it") || re.Status != status {
			t.Errorf("HTTP %d: %q (status %d), want it to start %q", status, re.Error(), re.Status, want)
		}
		if _, _, ok := AsRefused(err); !ok {
			t.Errorf("AsRefused(%v) = false", err)
		}
		vault.Close()
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests, want 0", n)
	}
}

func TestRedirectErrorIsNonRetriable(t *testing.T) {
	var nr interface{ NonRetriable() }
	err := &url.Error{Op: "Get", URL: "https://x", Err: &RedirectError{From: "a", To: "b", Status: 302}}
	if !errors.As(err, &nr) {
		t.Error("a redirect wrapped in *url.Error is not NonRetriable for azcore")
	}
}
