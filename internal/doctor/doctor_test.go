package doctor

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/transport"
)

func TestParseBearerChallenge(t *testing.T) {
	for _, tc := range []struct {
		header            string
		ok                bool
		authority, tenant string
		resource          string
	}{
		{`Bearer authorization="https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"`,
			true, "https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47", "72f988bf-86f1-41af-91ab-2d7cd011db47", "https://vault.azure.net"},
		{`bearer authorization_uri="https://login.microsoftonline.us/t1/", scope="https://vault.usgovcloudapi.net/.default"`,
			true, "https://login.microsoftonline.us/t1/", "t1", "https://vault.usgovcloudapi.net"},
		{`Bearer resource=https://vault.azure.cn, authorization=https://login.chinacloudapi.cn/t2`,
			true, "https://login.chinacloudapi.cn/t2", "t2", "https://vault.azure.cn"},
		{`Basic realm="/var/opt/azcmagent/tokens/x.key"`, false, "", "", ""},
		{`Bearer authorization="https://login.windows.net/t`, false, "", "", ""},
		{`Bearer`, false, "", "", ""},
		{``, false, "", "", ""},
	} {
		c, ok := parseBearerChallenge(tc.header)
		if ok != tc.ok || c.authorization != tc.authority || c.resource != tc.resource || c.tenant() != tc.tenant {
			t.Errorf("parseBearerChallenge(%q) = %+v (tenant %q), %v; want authorization %q, resource %q, tenant %q, %v",
				tc.header, c, c.tenant(), ok, tc.authority, tc.resource, tc.tenant, tc.ok)
		}
	}
}

// jwt builds an unsigned JWT-shaped token carrying payload.
func jwt(t *testing.T, payload map[string]any) string {
	t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(body) + ".c2lnbmF0dXJl"
}

func TestDecodeClaims(t *testing.T) {
	v1, err := decodeClaims(jwt(t, map[string]any{"aud": "https://vault.azure.net", "appid": "app", "oid": "obj", "tid": "ten", "exp": 1700000000}))
	if err != nil || v1.clientID() != "app" || v1.OID != "obj" || v1.TID != "ten" || !v1.expires().Equal(time.Unix(1700000000, 0)) {
		t.Errorf("v1 token: %+v, %v", v1, err)
	}
	v2, err := decodeClaims(jwt(t, map[string]any{"aud": "cfa8b339-82a2-471a-a3c9-0fc0be7a4093", "azp": "app2"}))
	if err != nil || v2.clientID() != "app2" || !v2.expires().IsZero() {
		t.Errorf("v2 token: %+v, %v", v2, err)
	}
	for _, opaque := range []string{"opaque-token-value", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte("not json")) + ".c"} {
		if _, err := decodeClaims(opaque); !errors.Is(err, errNotJWT) || strings.Contains(err.Error(), opaque) {
			t.Errorf("decodeClaims(%q) error %v, want errNotJWT without the token", opaque, err)
		}
	}
}

func TestClockResult(t *testing.T) {
	local := time.Date(2026, 12, 2, 12, 0, 0, 400e6, time.UTC)
	d := &doctor{}
	for _, tc := range []struct {
		skew    time.Duration
		outcome Outcome
		want    string
	}{
		{0, Pass, "within 1s"},
		{4 * time.Minute, Pass, "within 4m"},
		{10 * time.Minute, Fail, "10m behind the vault's"},
		{-6 * time.Minute, Fail, "6m ahead of the vault's"},
	} {
		p := vaultProbe{sent: local, received: local.Add(200 * time.Millisecond), date: local.Add(tc.skew).Truncate(time.Second)}
		r := d.clockResult(p)
		if r.Outcome != tc.outcome || !strings.Contains(r.Detail, tc.want) {
			t.Errorf("skew %s: %v %q, want %v with %q", tc.skew, r.Outcome, r.Detail, tc.outcome, tc.want)
		}
		if r.Outcome == Fail && !strings.Contains(r.Fix, "clock") {
			t.Errorf("skew %s: fix %q does not name the clock", tc.skew, r.Fix)
		}
	}
}

func TestPermissionModel(t *testing.T) {
	for _, tc := range []struct{ code, message, want string }{
		{"ForbiddenByRbac", "", "rbac"},
		{"Forbidden", "Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'", "rbac"},
		{"ForbiddenByPolicy", "", "policy"},
		{"Forbidden", "The user, group or application 'appid=x' does not have secrets get permission on key vault 'v'", "policy"},
		{"Forbidden", "Injected fault f1: HTTP 403.", ""},
	} {
		if got := permissionModel(tc.code, tc.message); got != tc.want {
			t.Errorf("permissionModel(%q, %q) = %q, want %q", tc.code, tc.message, got, tc.want)
		}
	}
	if fix := permissionFix("get", "", "", claims{OID: "o1"}); !strings.Contains(fix, "Azure RBAC") || !strings.Contains(fix, "access policies") || !strings.Contains(fix, "o1") {
		t.Errorf("an unknown model's fix %q does not offer both models for object id o1", fix)
	}
}

func TestCheckDirectory(t *testing.T) {
	dir := t.TempDir()
	if r := CheckDirectory(dir); r.Outcome != Pass || !strings.Contains(r.Detail, "writable") {
		t.Errorf("existing directory: %+v", r)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the probe left %d files behind", len(entries))
	}
	missing := filepath.Join(dir, "a", "b")
	if r := CheckDirectory(missing); r.Outcome != Pass || !strings.Contains(r.Detail, "does not exist yet") {
		t.Errorf("missing directory: %+v", r)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("the check created the store directory")
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := CheckDirectory(file); r.Outcome != Fail || !strings.Contains(r.Fix, "directory") {
		t.Errorf("a file: %+v", r)
	}
	if os.Geteuid() == 0 || os.Getenv("OS") == "Windows_NT" {
		return // root writes anywhere
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	if r := CheckDirectory(ro); r.Outcome != Fail || !strings.Contains(r.Detail, "not writable") {
		t.Errorf("read-only directory: %+v", r)
	}
}

// fakeResolver answers every name with addrs, or err.
type fakeResolver struct {
	addrs []string
	err   error
}

func (f fakeResolver) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) {
	var out []net.IPAddr
	for _, a := range f.addrs {
		out = append(out, net.IPAddr{IP: net.ParseIP(a)})
	}
	return out, f.err
}

func TestCheckDNS(t *testing.T) {
	route, err := transport.ParseRoute("routed.vault.azure.net=127.0.0.1:8443")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, host string
		res        fakeResolver
		outcome    Outcome
		want       string
	}{
		{"private endpoint", "v.vault.azure.net", fakeResolver{addrs: []string{"10.1.2.3"}}, Pass, "10.1.2.3 (private address: a private endpoint)"},
		{"public", "v.vault.azure.net", fakeResolver{addrs: []string{"20.38.1.1"}}, Pass, "20.38.1.1 (public address)"},
		{"not found", "v.vault.azure.net", fakeResolver{err: &net.DNSError{Err: "no such host", Name: "v", IsNotFound: true}}, Fail, "NXDOMAIN"},
		{"routed", "routed.vault.azure.net", fakeResolver{err: errors.New("must not be asked")}, Pass, "routed by --connect-to to 127.0.0.1:8443"},
	} {
		var buf bytes.Buffer
		d := &doctor{opts: Options{Transport: transport.Options{Routes: []transport.Route{route}}}, rep: NewReport(&buf), resolver: tc.res}
		ok := d.checkDNS(context.Background(), tc.host)
		if ok != (tc.outcome == Pass) || !strings.Contains(buf.String(), tc.want) {
			t.Errorf("%s: %v, output %q; want %q", tc.name, ok, buf.String(), tc.want)
		}
	}
}

func TestReportSummary(t *testing.T) {
	var buf bytes.Buffer
	rep := NewReport(&buf)
	rep.Add(Result{Outcome: Pass, Check: "a", Detail: "fine\nreally"})
	if rep.Summary() != "all 1 checks passed" {
		t.Errorf("summary %q", rep.Summary())
	}
	if !rep.AllPassed() {
		t.Error("one passed check is not all passed")
	}
	only := NewReport(&bytes.Buffer{})
	only.Add(Result{Outcome: Skip, Check: "clock"})
	if only.AllPassed() {
		t.Error("a skipped check counts as passed")
	}
	rep.Add(Result{Outcome: Fail, Check: "b", Detail: "broken", Fix: "mend it"})
	rep.Add(Result{Outcome: Skip, Check: "c", Detail: "skipped: b failed"})
	if got, want := rep.Summary(), "1 of 3 checks failed, 1 skipped (first: b)"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	want := "✓ a: fine really\n✗ b: broken\n    fix: mend it\n– c: skipped: b failed\n"
	if buf.String() != want {
		t.Errorf("output %q, want %q", buf.String(), want)
	}
}

func TestTokenResult(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		clientID string
		c        claims
		outcome  Outcome
		want     string
	}{
		{"system-assigned", "", claims{Aud: "https://vault.azure.net", AppID: "a1", OID: "o1", Exp: now.Add(time.Hour).Unix()}, Pass, "client id a1, object id o1; audience https://vault.azure.net; expires 2026-12-02 13:00:00Z (in 1h)"},
		{"wrong audience", "", claims{Aud: "https://management.azure.com/"}, Fail, "audience https://management.azure.com/"},
		{"another identity", "c2", claims{Aud: "https://vault.azure.net/", AppID: "a1"}, Fail, "client id a1"},
	} {
		d := &doctor{now: func() time.Time { return now }}
		d.opts.Settings = &config.Settings{Identity: config.Identity{ClientID: tc.clientID}}
		r := d.tokenResult("token", "https://vault.azure.net", tc.c)
		if r.Outcome != tc.outcome || !strings.Contains(r.Detail, tc.want) {
			t.Errorf("%s: %v %q, want %v with %q", tc.name, r.Outcome, r.Detail, tc.outcome, tc.want)
		}
	}
}

// A warning prints ! with its fix, is named in the summary, and passes.
func TestReportWarning(t *testing.T) {
	var buf bytes.Buffer
	rep := NewReport(&buf)
	rep.Add(Result{Outcome: Pass, Check: "secrets get web", Detail: "allowed"})
	rep.Add(Result{Outcome: Warn, Check: "secrets list web", Detail: "refused", Fix: "grant list, or accept it"})
	if !rep.AllPassed() || rep.Failed() != 0 {
		t.Error("a warning fails the report")
	}
	if got, want := rep.Summary(), "all 2 checks passed, 1 warning (secrets list web)"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if want := "! secrets list web: refused\n    fix: grant list, or accept it\n"; !strings.HasSuffix(buf.String(), want) {
		t.Errorf("output %q, want it to end with %q", buf.String(), want)
	}
}
