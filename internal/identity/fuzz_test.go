package identity

import (
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/transport"
)

func FuzzParseToken(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"T","expires_in":"86399","expires_on":"1700086399","not_before":"1699999999","token_type":"Bearer"}`,
		`{"access_token":"T","expires_in":3600}`,
		`{"access_token":"T","expires_on":1700007200}`,
		`{"access_token":"T","expires_in":"1e3"}`,
		`{"access_token":"T","expires_in":null}`,
		`{"access_token":"T"`,
		`<html/>`,
	} {
		f.Add([]byte(s))
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := parseToken(body, now)
		if err != nil {
			return
		}
		if tok.Token == "" || !tok.ExpiresOn.After(now) || tok.ExpiresOn.Sub(now) > maxLifetime {
			t.Fatalf("accepted token with token %v, expiry %v", tok.Token != "", tok.ExpiresOn)
		}
		if tok.RefreshOn.Before(now) || tok.RefreshOn.After(tok.ExpiresOn) {
			t.Fatalf("RefreshOn %v outside [now, expiry %v]", tok.RefreshOn, tok.ExpiresOn)
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"7", "0", "Sat, 01 Mar 2025 12:01:30 GMT", "-1", "soon", ""} {
		f.Add(s)
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := transport.ParseRetryAfter(v, now)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("transport.ParseRetryAfter(%q) = %v, %v", v, d, ok)
		}
		if got := retryDelay(1, 429, v, now, 0.5); got < 0 || got > maxDelay {
			t.Fatalf("retryDelay with Retry-After %q = %v, outside [0, %v]", v, got, maxDelay)
		}
	})
}

func FuzzParseBasicRealm(f *testing.F) {
	for _, s := range []string{`Basic realm=/var/opt/azcmagent/tokens/a.key`, `Basic realm="C:\x\a.key", charset="UTF-8"`, `Bearer x=y`, `Basic realm="`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		realm, ok := parseBasicRealm(h)
		if ok && (realm == "" || !strings.Contains(h, realm)) {
			t.Fatalf("parseBasicRealm(%q) = %q, true", h, realm)
		}
		if !ok && realm != "" {
			t.Fatalf("parseBasicRealm(%q) = %q, false", h, realm)
		}
	})
}

func FuzzParseErrorBody(f *testing.F) {
	for _, s := range []string{`{"error":"invalid_request","error_description":"Identity not found"}`, `{"error":{"code":"x","message":"y"}}`, "Bad Gateway\r\n", `{"error":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, desc := parseErrorBody(body)
		for _, s := range []string{code, desc} {
			if strings.ContainsAny(s, "\r\n\x00") {
				t.Fatalf("parseErrorBody gave a multi-line or control text %q", s)
			}
		}
		if len([]rune(code)) > 61 || len([]rune(desc)) > 301 {
			t.Fatalf("parseErrorBody gave over-long texts (%d, %d runes)", len([]rune(code)), len([]rune(desc)))
		}
	})
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"", "http://169.254.169.254/metadata/identity", "https://localhost:40342/metadata/identity/oauth2/token", "http:///x", "ftp://h/", "http://u:p@h/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := parseEndpoint(raw)
		if err != nil {
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
			t.Fatalf("parseEndpoint(%q) accepted %v", raw, u)
		}
	})
}
