package identity

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseToken(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	in := func(d time.Duration) time.Time { return now.Add(d) }
	tests := []struct {
		name        string
		body        string
		wantExpires time.Time
		wantErr     string
	}{
		{"IMDS strings", `{"access_token":"T","expires_in":"86399","expires_on":"1700086399","not_before":"1699999999","token_type":"Bearer"}`, in(86399 * time.Second), ""},
		{"numbers", `{"access_token":"T","expires_in":3600,"expires_on":1700003600,"not_before":1699999999}`, in(time.Hour), ""},
		{"expires_in preferred over a skewed expires_on", `{"access_token":"T","expires_in":"3600","expires_on":"1800000000"}`, in(time.Hour), ""},
		{"expires_on only, string", `{"access_token":"T","expires_on":"1700007200"}`, in(2 * time.Hour), ""},
		{"expires_on only, number", `{"access_token":"T","expires_on":1700007200}`, in(2 * time.Hour), ""},
		{"float seconds", `{"access_token":"T","expires_in":3600.0}`, in(time.Hour), ""},
		{"null expires_in falls back", `{"access_token":"T","expires_in":null,"expires_on":"1700007200"}`, in(2 * time.Hour), ""},
		{"lower-case bearer", `{"access_token":"T","expires_in":"60","token_type":"bearer"}`, in(time.Minute), ""},
		{"no expiry", `{"access_token":"T"}`, time.Time{}, "neither expires_in nor expires_on"},
		{"no token", `{"expires_in":"3600"}`, time.Time{}, "no access_token"},
		{"expired", `{"access_token":"T","expires_on":"1699999000"}`, time.Time{}, "check the machine's clock"},
		{"zero expires_in", `{"access_token":"T","expires_in":"0"}`, time.Time{}, "expires_in 0"},
		{"absurd expires_in", `{"access_token":"T","expires_in":"999999999"}`, time.Time{}, "expires_in 999999999"},
		{"not a number", `{"access_token":"T","expires_in":"soon"}`, time.Time{}, "not a number of seconds"},
		{"wrong token type", `{"access_token":"T","expires_in":"60","token_type":"PoP"}`, time.Time{}, "token_type is not Bearer"},
		{"token not a string", `{"access_token":12,"expires_in":"60"}`, time.Time{}, `"access_token" has the wrong JSON type`},
		{"truncated", `{"access_token":"T","expires_in":"60"`, time.Time{}, "not valid JSON"},
		{"HTML", `<html>proxy login</html>`, time.Time{}, "not valid JSON"},
		{"empty", ``, time.Time{}, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := parseToken([]byte(tt.body), now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseToken: %v", err)
			}
			if tok.Token != "T" || !tok.ExpiresOn.Equal(tt.wantExpires) {
				t.Errorf("got token %q expiring %v, want T expiring %v", tok.Token, tok.ExpiresOn, tt.wantExpires)
			}
		})
	}
}

func TestRefreshOn(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		lifetime time.Duration
		want     time.Duration // after now
	}{
		{24 * time.Hour, 24*time.Hour - refreshBefore},
		{time.Hour, time.Hour - refreshBefore},
		{10 * time.Minute, 5 * time.Minute},
		{4 * time.Minute, 2 * time.Minute}, // half-way, not already due
		{2 * time.Second, time.Second},
	}
	for _, tt := range tests {
		if got := refreshOn(now, now.Add(tt.lifetime)).Sub(now); got != tt.want {
			t.Errorf("refreshOn for a %v token = now+%v, want now+%v", tt.lifetime, got, tt.want)
		}
	}
}

// TestErrorsNeverContainToken drives every failure path that has the token
// in hand and checks the token stays out of the message.
func TestErrorsNeverContainToken(t *testing.T) {
	bodies := []string{
		fmt.Sprintf(`{"access_token":%q}`, testToken),
		fmt.Sprintf(`{"access_token":%q,"expires_in":"0"}`, testToken),
		fmt.Sprintf(`{"access_token":%q,"expires_in":"x%s"}`, testToken, testToken),
		fmt.Sprintf(`{"access_token":%q,"expires_in":"60","token_type":%q}`, testToken, testToken),
		fmt.Sprintf(`{"access_token":%q,"expires_in":"60"`, testToken),
		fmt.Sprintf(`{"access_token":%q,"expires_in":{"%s":1}}`, testToken, testToken),
		testToken,
	}
	for _, body := range bodies {
		f := newFakeEndpoint(t, reply{status: 200, body: body})
		c, _, _ := testCred(t, Options{Endpoint: f.tokenURL()})
		_, err := getToken(t, c, vaultScope)
		if err == nil {
			t.Fatalf("body %q accepted", body)
		}
		if strings.Contains(err.Error(), testToken[:12]) || strings.Contains(err.Error(), "secret-token-value") {
			t.Errorf("error contains the token: %v", err)
		}
		if !strings.Contains(err.Error(), "HTTP 200") || !strings.Contains(err.Error(), c.Describe()) {
			t.Errorf("error %q should name the identity and say HTTP 200", err)
		}
	}
}
