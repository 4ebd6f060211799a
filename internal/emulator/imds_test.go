package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// imdsGet sends a token request with the given query and headers.
func imdsGet(t *testing.T, e *Emulator, query string, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.IMDSEndpoint()+"?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("IMDS request: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func TestIMDS(t *testing.T) {
	const user = "99999999-8888-4777-8666-555555555555"
	clock := newFakeClock()
	e := startEmulator(t, Config{Now: clock.Now, TokenLifetime: 90 * time.Second})
	if err := e.AddIdentity(user); err != nil {
		t.Fatal(err)
	}
	md := map[string]string{"Metadata": "true"}
	const vault = "api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
	tests := []struct {
		name       string
		query      string
		header     map[string]string
		status     int
		errCode    string
		errDesc    string
		wantClient string
	}{
		{"system-assigned", vault, md, 200, "", "", SystemAssignedClientID},
		{"user-assigned by client id", vault + "&client_id=" + user, md, 200, "", "", user},
		{"user-assigned by object id", vault + "&object_id=" + ObjectID(user), md, 200, "", "", user},
		{"no metadata header", vault, nil, 400, "invalid_request", "Required metadata header not specified", ""},
		{"metadata header not true", vault, map[string]string{"Metadata": "yes"}, 400, "invalid_request", "Required metadata header not specified", ""},
		{"missing api-version", "resource=https%3A%2F%2Fvault.azure.net", md, 400, "invalid_request", "", ""},
		{"missing resource", "api-version=2018-02-01", md, 400, "invalid_request", "", ""},
		{"unknown client id", vault + "&client_id=00000000-0000-0000-0000-000000000000", md, 400, "invalid_request", "Identity not found", ""},
		{"unknown resource id", vault + "&msi_res_id=/subscriptions/x", md, 400, "invalid_request", "Identity not found", ""},
		{"user-assigned by resource id", vault + "&msi_res_id=" + url.QueryEscape(ResourceID(user)), md, 200, "", "", user},
		{"resource id in another case", vault + "&msi_res_id=" + url.QueryEscape(strings.ToUpper(ResourceID(user))), md, 200, "", "", user},
		{"unknown object id", vault + "&object_id=00000000-0000-0000-0000-000000000000", md, 400, "invalid_request", "Identity not found", ""},
		{"resource id of the system-assigned identity", vault + "&msi_res_id=" + url.QueryEscape(ResourceID(SystemAssignedClientID)), md, 400, "invalid_request", "Identity not found", ""},
		{"two selectors", vault + "&client_id=" + user + "&object_id=" + ObjectID(user), md, 400, "invalid_request", "Only one of client_id, object_id and msi_res_id may be given; the request has client_id, object_id", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := imdsGet(t, e, tt.query, tt.header)
			if status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", status, tt.status, body)
			}
			if tt.status != 200 {
				var eb imdsErrorBody
				if err := json.Unmarshal(body, &eb); err != nil || eb.Error != tt.errCode || (tt.errDesc != "" && eb.Description != tt.errDesc) {
					t.Errorf("error body = %s, want error %q description %q", body, tt.errCode, tt.errDesc)
				}
				return
			}
			// Every field is a JSON string.
			var raw map[string]any
			if err := json.Unmarshal(body, &raw); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"access_token", "client_id", "expires_in", "expires_on", "ext_expires_in", "not_before", "resource", "token_type"} {
				if _, ok := raw[k].(string); !ok {
					t.Errorf("field %s = %#v, want a JSON string", k, raw[k])
				}
			}
			if raw["client_id"] != tt.wantClient || raw["expires_in"] != "90" || raw["token_type"] != "Bearer" || raw["resource"] != "https://vault.azure.net" {
				t.Errorf("token response = %s", body)
			}
			claims, err := e.signer.verify(raw["access_token"].(string), clock.Now())
			if err != nil || claims.AppID != tt.wantClient || claims.Aud != "https://vault.azure.net" || claims.TID != DefaultTenant || claims.EXP != clock.Now().Add(90*time.Second).Unix() {
				t.Errorf("claims = %+v, %v", claims, err)
			}
			if wantMIRID := ResourceID(tt.wantClient); tt.wantClient == SystemAssignedClientID && claims.MIRID != "" || tt.wantClient != SystemAssignedClientID && claims.MIRID != wantMIRID {
				t.Errorf("xms_mirid = %q", claims.MIRID)
			}
		})
	}
}

func TestIMDSWithoutSystemIdentity(t *testing.T) {
	e := startEmulator(t, Config{NoSystemIdentity: true})
	if err := e.AddIdentity("12345678-1234-4234-8234-123456789012"); err != nil {
		t.Fatal(err)
	}
	status, _, body := imdsGet(t, e, "api-version=2018-02-01&resource=https://vault.azure.net", map[string]string{"Metadata": "true"})
	if status != http.StatusBadRequest || !strings.Contains(string(body), "invalid_request") {
		t.Errorf("token without client_id = %d %s, want 400 invalid_request", status, body)
	}
	status, _, _ = imdsGet(t, e, "api-version=2018-02-01&resource=https://vault.azure.net&client_id=12345678-1234-4234-8234-123456789012", map[string]string{"Metadata": "true"})
	if status != http.StatusOK {
		t.Errorf("token with client_id = %d, want 200", status)
	}
	status, _, _ = imdsGet(t, e, "api-version=2018-02-01&resource=https://vault.azure.net&client_id="+SystemAssignedClientID, map[string]string{"Metadata": "true"})
	if status != http.StatusBadRequest {
		t.Errorf("token for the absent system identity = %d, want 400", status)
	}
}

func TestIMDSArc(t *testing.T) {
	e := startEmulator(t, Config{Arc: true})
	const q = "api-version=2020-06-01&resource=https%3A%2F%2Fvault.azure.net"
	status, h, _ := imdsGet(t, e, q, map[string]string{"Metadata": "true"})
	realm, ok := strings.CutPrefix(h.Get("WWW-Authenticate"), "Basic realm=")
	if status != http.StatusUnauthorized || !ok || realm != e.ArcKeyFile() {
		t.Fatalf("first Arc request = %d %q, want 401 Basic realm=<key file>", status, h.Get("WWW-Authenticate"))
	}
	key, err := os.ReadFile(realm)
	if err != nil {
		t.Fatalf("read the realm's key file: %v", err)
	}
	if fi, err := os.Stat(realm); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	status, _, _ = imdsGet(t, e, q, map[string]string{"Metadata": "true", "Authorization": "Basic " + string(key)})
	if status != http.StatusOK {
		t.Errorf("request with the key file content = %d, want 200", status)
	}
	status, _, _ = imdsGet(t, e, q, map[string]string{"Metadata": "true", "Authorization": "Basic wrong"})
	if status != http.StatusUnauthorized {
		t.Errorf("request with a wrong key = %d, want 401", status)
	}
}

// The request log names the query parameter that selected the identity,
// never its value or the rest of the query.
func TestIMDSRequestLogNamesTheSelector(t *testing.T) {
	const user = "99999999-8888-4777-8666-555555555555"
	e := startEmulator(t, Config{})
	if err := e.AddIdentity(user); err != nil {
		t.Fatal(err)
	}
	const vault = "api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
	md := map[string]string{"Metadata": "true"}
	for _, q := range []string{"", "&client_id=" + user, "&object_id=" + ObjectID(user), "&msi_res_id=" + url.QueryEscape(ResourceID(user)), "&object_id=" + ObjectID("x")} {
		imdsGet(t, e, vault+q, md)
	}
	var got []string
	for _, r := range e.Requests() {
		got = append(got, fmt.Sprintf("%s %d %s %s", r.Op, r.Status, r.Selector, r.ClientID))
	}
	want := []string{
		"token 200  " + SystemAssignedClientID, "token 200 client_id " + user, "token 200 object_id " + user,
		"token 200 msi_res_id " + user, "token 400 object_id ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("request log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
