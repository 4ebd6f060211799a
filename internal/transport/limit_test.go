package transport

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// endless is a body that never ends and counts what was read from it.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	e.read += int64(len(p))
	return len(p), nil
}

func (e *endless) Close() error { return nil }

func response(body io.ReadCloser, length int64) *http.Response {
	return &http.Response{StatusCode: 200, Body: body, ContentLength: length,
		Request: &http.Request{URL: &url.URL{Scheme: "https", Host: "myvault.vault.azure.net"}}}
}

func TestLimitBody(t *testing.T) {
	const limit = 1 << 10
	tests := []struct {
		name    string
		size    int
		length  int64
		wantErr bool
	}{
		{"empty", 0, 0, false},
		{"at the limit", limit, limit, false},
		{"at the limit, chunked", limit, -1, false},
		{"one byte over, chunked", limit + 1, -1, true},
		{"far over, chunked", 10 * limit, -1, true},
		{"understated length", 10 * limit, 10, true},
	}
	for _, tt := range tests {
		resp := response(io.NopCloser(bytes.NewReader(bytes.Repeat([]byte("x"), tt.size))), tt.length)
		if err := LimitBody(resp, limit, "Key Vault"); err != nil {
			t.Fatalf("%s: LimitBody: %v", tt.name, err)
		}
		got, err := io.ReadAll(resp.Body)
		var tl *TooLargeError
		switch {
		case tt.wantErr && !errors.As(err, &tl):
			t.Errorf("%s: read error %v, want a *TooLargeError", tt.name, err)
		case !tt.wantErr && (err != nil || len(got) != tt.size):
			t.Errorf("%s: read %d bytes, %v; want %d", tt.name, len(got), err, tt.size)
		case tt.wantErr && len(got) > limit:
			t.Errorf("%s: handed on %d bytes, more than the limit", tt.name, len(got))
		}
	}
}

func TestLimitBodyStopsReading(t *testing.T) {
	body := &endless{}
	resp := response(body, -1)
	if err := LimitBody(resp, 1<<20, "Key Vault (a secret value is at most 25 KB)"); err != nil {
		t.Fatal(err)
	}
	_, err := io.ReadAll(resp.Body)
	want := "myvault.vault.azure.net answered with more than 1 MiB; akvvm reads at most 1 MiB from Key Vault (a secret value is at most 25 KB), so it refused the answer"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if body.read > 1<<20+64<<10 {
		t.Errorf("read %d bytes of an endless body, want little more than 1 MiB", body.read)
	}
}

func TestLimitBodyContentLength(t *testing.T) {
	body := &endless{}
	resp := response(body, 200<<20)
	err := LimitBody(resp, 1<<20, "Key Vault")
	var tl *TooLargeError
	if !errors.As(err, &tl) || body.read != 0 {
		t.Fatalf("LimitBody = %v after reading %d bytes, want a *TooLargeError before reading", err, body.read)
	}
	if !strings.Contains(err.Error(), "(Content-Length 209715200)") || !strings.Contains(err.Error(), "myvault.vault.azure.net") {
		t.Errorf("error %q does not name the host and length", err)
	}
	var nr interface{ NonRetriable() }
	if !errors.As(err, &nr) {
		t.Error("TooLargeError is not NonRetriable")
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{1 << 20: "1 MiB", 64 << 10: "64 KiB", 1000: "1000 bytes", 1<<20 + 1: "1048577 bytes"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
