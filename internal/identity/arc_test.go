package identity

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/transport"
)

const arcKey = "0123456789abcdef0123456789abcdef"

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func challenge(realm string) reply {
	return reply{status: 401, header: map[string]string{"WWW-Authenticate": "Basic realm=" + realm},
		body: `{"error":"unauthorized","error_description":"Use the key file"}`}
}

func TestArcChallenge(t *testing.T) {
	dir := t.TempDir()
	keyFile := writeFile(t, filepath.Join(dir, "abc.key"), arcKey+"\n")
	f := newFakeEndpoint(t, challenge(keyFile), okReply(3600))
	c, _, _ := testCred(t, Options{Endpoint: f.URL + "/metadata/identity", ArcKeyDir: dir})
	if tok, err := getToken(t, c, vaultScope); err != nil || tok != testToken {
		t.Fatalf("GetToken = %v, want the token", err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (challenge, answer)", len(reqs))
	}
	second := reqs[1]
	if got := second.Header.Get("Authorization"); got != "Basic "+arcKey {
		t.Errorf("second request's Authorization = %q, want Basic + the key file's content", got)
	}
	if got := second.Header.Get("Metadata"); got != "true" {
		t.Errorf("second request's Metadata = %q, want true", got)
	}
	if got := query(second).Get("api-version"); got != arcAPIVersion {
		t.Errorf("second request's api-version = %q, want %q", got, arcAPIVersion)
	}
	if got := query(second).Get("resource"); got != "https://vault.azure.net" {
		t.Errorf("second request's resource = %q", got)
	}
}

func TestArcChallengeRefused(t *testing.T) {
	allowed := t.TempDir()
	outside := t.TempDir()
	secret := writeFile(t, filepath.Join(outside, "shadow.key"), "not-for-the-endpoint")
	link := filepath.Join(allowed, "link.key")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	big := writeFile(t, filepath.Join(allowed, "big.key"), strings.Repeat("k", maxArcKeySize+1))
	notKey := writeFile(t, filepath.Join(allowed, "token.txt"), arcKey)
	multi := writeFile(t, filepath.Join(allowed, "multi.key"), "a\nb")

	tests := []struct {
		name  string
		realm string
		want  string
	}{
		{"outside the directory", secret, "outside the Arc token directory"},
		{"dot-dot escape", allowed + "/../" + filepath.Base(outside) + "/shadow.key", "outside the Arc token directory"},
		{"link leading outside", link, "links outside"},
		{"relative path", "abc.key", "absolute path"},
		{"not a .key file", notKey, ".key"},
		{"too large", big, "at most 4096 bytes"},
		{"several lines", multi, "several lines"},
		{"missing file", filepath.Join(allowed, "gone.key"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEndpoint(t, challenge(tt.realm), okReply(3600))
			c, _, s := testCred(t, Options{Endpoint: f.URL + "/metadata/identity", ArcKeyDir: allowed})
			_, err := getToken(t, c, vaultScope)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d requests, want 1: nothing may be sent after a refused challenge", n)
			}
			if len(s.delays()) != 0 {
				t.Error("a refused challenge was retried")
			}
			if strings.Contains(err.Error(), "not-for-the-endpoint") || strings.Contains(err.Error(), "kkkk") {
				t.Errorf("error quotes file content: %v", err)
			}
		})
	}
}

func TestArcSecondUnauthorized(t *testing.T) {
	dir := t.TempDir()
	keyFile := writeFile(t, filepath.Join(dir, "abc.key"), arcKey)
	f := newFakeEndpoint(t, challenge(keyFile), reply{status: 401, body: `{"error":"unauthorized","error_description":"bad key"}`}, okReply(3600))
	c, _, _ := testCred(t, Options{Endpoint: f.URL + "/metadata/identity", ArcKeyDir: dir})
	_, err := getToken(t, c, vaultScope)
	var re *ResponseError
	if !errors.As(err, &re) || re.StatusCode != 401 || !strings.Contains(re.Hint, "Arc") {
		t.Fatalf("err = %v, want a 401 *ResponseError with an Arc hint", err)
	}
	if strings.Contains(err.Error(), arcKey) {
		t.Errorf("error quotes the Arc key: %v", err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2: the challenge is answered once", n)
	}
}

func TestArcPortUsesArcAPIVersion(t *testing.T) {
	f := newFakeEndpoint(t, okReply(3600))
	route, err := transport.ParseRoute("localhost:40342=" + f.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	client, err := transport.NewClient(transport.Options{Routes: []transport.Route{route}}, transport.ClientConfig{NoProxy: true})
	if err != nil {
		t.Fatal(err)
	}
	c, _, _ := testCred(t, Options{Endpoint: "http://localhost:40342/metadata/identity", HTTPClient: client})
	if _, err := getToken(t, c, vaultScope); err != nil {
		t.Fatal(err)
	}
	if got := query(f.requests()[0]).Get("api-version"); got != arcAPIVersion {
		t.Errorf("api-version = %q on Arc's port, want %q", got, arcAPIVersion)
	}
}

func TestParseBasicRealm(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Basic realm=/var/opt/azcmagent/tokens/a.key", "/var/opt/azcmagent/tokens/a.key", true},
		{`Basic realm="/var/opt/azcmagent/tokens/a.key"`, "/var/opt/azcmagent/tokens/a.key", true},
		{`basic Realm=C:\ProgramData\AzureConnectedMachineAgent\Tokens\a.key`, `C:\ProgramData\AzureConnectedMachineAgent\Tokens\a.key`, true},
		{`Basic realm="/t/a.key", charset="UTF-8"`, "/t/a.key", true},
		{`Basic realm=/t/a.key, charset=UTF-8`, "/t/a.key", true},
		{`Bearer authorization="https://login.windows.net/x"`, "", false},
		{`Basic realm=`, "", false},
		{`Basic realm="/t/a.key`, "", false},
		{`Basic charset=UTF-8`, "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := parseBasicRealm(tt.header)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseBasicRealm(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}
