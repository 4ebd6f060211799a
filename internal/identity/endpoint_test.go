package identity

import (
	"strings"
	"testing"
)

func TestEndpointForms(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		wantPath string
	}{
		{"linux docs form", "/metadata/identity", "/metadata/identity/oauth2/token"},
		{"linux docs form with slash", "/metadata/identity/", "/metadata/identity/oauth2/token"},
		{"windows docs form", "/metadata/identity/oauth2/token", "/metadata/identity/oauth2/token"},
		{"host only", "", "/metadata/identity/oauth2/token"},
		{"custom path kept", "/msi/token", "/msi/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEndpoint(t, okReply(3600))
			c, _, _ := testCred(t, Options{Endpoint: f.URL + tt.path})
			if _, err := getToken(t, c, vaultScope); err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			if got := f.requests()[0].URL.Path; got != tt.wantPath {
				t.Errorf("request path = %q, want %q", got, tt.wantPath)
			}
			if !strings.Contains(c.Describe(), f.URL+tt.wantPath) {
				t.Errorf("Describe() = %q, want it to name %s", c.Describe(), f.URL+tt.wantPath)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "system-assigned identity at " + DefaultEndpoint; c.Describe() != want {
		t.Errorf("Describe() = %q, want %q", c.Describe(), want)
	}
	if c.maxRetries != DefaultMaxRetries {
		t.Errorf("maxRetries = %d, want %d", c.maxRetries, DefaultMaxRetries)
	}
	c, err = New(Options{ClientID: "1234", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if want := "user-assigned identity 1234 at " + DefaultEndpoint; c.Describe() != want {
		t.Errorf("Describe() = %q, want %q", c.Describe(), want)
	}
	if c.maxRetries != 0 {
		t.Errorf("MaxRetries -1 gave %d retries, want 0", c.maxRetries)
	}
}

func TestNewRejectsBadEndpoints(t *testing.T) {
	tests := []struct {
		endpoint string
		want     string // in the error besides the value
	}{
		{"169.254.169.254/metadata/identity", "http"},
		{"/metadata/identity", "http"},
		{"http:///metadata/identity", "no host"},
		{"http://:80/metadata/identity", "no host"},
		{"ftp://169.254.169.254/metadata/identity", "http or https"},
		{"http://169.254.169.254/metadata/identity#x", "fragment"},
		{"http://%zz/", "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			_, err := New(Options{Endpoint: tt.endpoint})
			if err == nil {
				t.Fatalf("New accepted %q", tt.endpoint)
			}
			if !strings.Contains(err.Error(), tt.endpoint) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q should name %q and say %q", err, tt.endpoint, tt.want)
			}
		})
	}
	_, err := New(Options{Endpoint: "http://user:pa55word@localhost/metadata/identity"})
	if err == nil || strings.Contains(err.Error(), "pa55word") {
		t.Errorf("user info: err = %v, want an error without the password", err)
	}
}
