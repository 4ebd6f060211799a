package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func FuzzParseVaultPath(f *testing.F) {
	for _, s := range []string{"/secrets", "/secrets/", "/secrets/a", "/secrets/a/", "/secrets/a/versions",
		"/secrets/a/0123456789abcdef0123456789abcdef", "/keys/k", "/secrets/a/b/c", "/secrets/bad_name", ""} {
		f.Add("GET", s)
		f.Add("PUT", s)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		vr, aerr := parseVaultPath(method, path)
		if aerr == nil {
			if !validOp(vr.op) || vr.op == OpAny || vr.op == OpToken {
				t.Fatalf("parseVaultPath(%q, %q) = op %q without error", method, path, vr.op)
			}
			if vr.op != OpListSecrets && !secretNamePattern.MatchString(vr.secret) {
				t.Fatalf("accepted invalid secret name %q", vr.secret)
			}
		} else if aerr.status < 400 || aerr.code == "" {
			t.Fatalf("error without status or code: %+v", aerr)
		}
	})
}

func FuzzParseSkipToken(f *testing.F) {
	f.Add(makeSkipToken(0))
	f.Add(makeSkipToken(25))
	f.Add("")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, tok string) {
		n, err := parseSkipToken(tok)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("negative offset %d", n)
		}
		if m, err := parseSkipToken(makeSkipToken(n)); err != nil || m != n {
			t.Fatalf("round trip of %d = %d, %v", n, m, err)
		}
	})
}

func FuzzVerifyToken(f *testing.F) {
	s := tokenSigner{key: []byte("0123456789abcdef0123456789abcdef")}
	now := time.Unix(1_800_000_000, 0)
	good, err := s.sign(tokenClaims{Aud: "https://vault.azure.net", AppID: "a", NBF: now.Unix(), EXP: now.Add(time.Hour).Unix()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("a.b.c")
	f.Add("")
	f.Add(strings.Replace(good, ".", "x", 1))
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.verify(tok, now)
		if err != nil {
			if strings.Contains(err.Error(), tok) && len(tok) > 8 {
				t.Fatal("error quotes the token")
			}
			return
		}
		// Anything accepted must be exactly a token this key signed.
		again, err := s.sign(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.verify(again, now); err != nil {
			t.Fatalf("re-signed claims rejected: %v", err)
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"format":1,"vaults":{}}`))
	f.Add([]byte(`{"format":1,"vaults":{"v":{"name":"v","cloud":"AzurePublic","secrets":{"s":{"name":"s","versions":[{"version":"0123"}]}}}}}`))
	f.Add([]byte(`{"format":1,"vaults":{"v":null}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeState(data)
		if err != nil {
			return
		}
		for _, v := range st.Vaults {
			for _, s := range v.Secrets {
				if s.latest() == nil {
					t.Fatal("accepted a secret without versions")
				}
			}
		}
		if _, err := json.Marshal(st); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzSetSecretBody(f *testing.F) {
	f.Add([]byte(`{"value":"v","contentType":"text/plain","attributes":{"enabled":true,"nbf":1,"exp":2},"tags":{"a":"b"}}`))
	f.Add([]byte(`{"value":null}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b setSecretBody
		if aerr := parseBody(data, &b); aerr != nil {
			if aerr.status != http.StatusBadRequest || strings.Contains(aerr.message, string(data)) && len(data) > 8 {
				t.Fatalf("bad error %+v", aerr)
			}
			return
		}
		if aerr := validateSetBody(&b); aerr == nil && (b.Value == nil || len(*b.Value) > maxSecretValueBytes) {
			t.Fatal("accepted a body without a valid value")
		}
	})
}

func FuzzDurationJSON(f *testing.F) {
	for _, s := range []string{`"1.5s"`, `10`, `"x"`, `null`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Duration
		if err := json.Unmarshal(data, &d); err != nil {
			return
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Duration
		if err := json.Unmarshal(out, &back); err != nil || back != d {
			t.Fatalf("round trip %s -> %s -> %v (%v)", data, out, time.Duration(back), err)
		}
	})
}
