package identity

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		body, code, desc string
	}{
		{`{"error":"invalid_request","error_description":"Identity not found"}`, "invalid_request", "Identity not found"},
		{`{"error":{"code":"BadRequest","message":"No identity"}}`, "BadRequest", "No identity"},
		{`{"error":"bad_request_102","error_description":"Required metadata header not specified"}`, "bad_request_102", "Required metadata header not specified"},
		{`{"error":"unknown","message":"Failed"}`, "unknown", "Failed"},
		{"Bad\r\nGateway\x00", "", "Bad Gateway"},
		{`{"other":1}`, "", `{"other":1}`},
		{"", "", ""},
	}
	for _, tt := range tests {
		code, desc := parseErrorBody([]byte(tt.body))
		if code != tt.code || desc != tt.desc {
			t.Errorf("parseErrorBody(%q) = %q, %q; want %q, %q", tt.body, code, desc, tt.code, tt.desc)
		}
	}
	if _, desc := parseErrorBody([]byte(strings.Repeat("x", 5000))); len([]rune(desc)) > 201 {
		t.Errorf("a long body gave a %d-rune description, want at most 200 and an ellipsis", len([]rune(desc)))
	}
}

func TestErrorMessages(t *testing.T) {
	const clientID = "c7373ae5-91c2-4165-8ab6-7381d6e75619"
	tests := []struct {
		name     string
		clientID string
		reply    reply
		want     []string
	}{
		{
			name:     "unknown user-assigned identity",
			clientID: clientID,
			reply:    reply{status: 400, body: `{"error":"invalid_request","error_description":"Identity not found"}`},
			want:     []string{"user-assigned identity " + clientID + " at http://", "/metadata/identity/oauth2/token: HTTP 400 invalid_request: Identity not found", "Check msiClientId"},
		},
		{
			name:  "no system-assigned identity",
			reply: reply{status: 400, body: `{"error":"invalid_request","error_description":"Identity not found"}`},
			want:  []string{"system-assigned identity at http://", "HTTP 400", "system-assigned identity; if it has only user-assigned identities, set msiClientId"},
		},
		{
			name:  "metadata header missing",
			reply: reply{status: 400, body: `{"error":"bad_request_102","error_description":"Required metadata header not specified"}`},
			want:  []string{"HTTP 400 bad_request_102", "Metadata: true", "proxy"},
		},
		{
			name:  "unknown resource",
			reply: reply{status: 400, body: `{"error":"invalid_resource","error_description":"AADSTS50001"}`},
			want:  []string{"invalid_resource: AADSTS50001", "cloud"},
		},
		{
			name:  "401 without an Arc challenge",
			reply: reply{status: 401, header: map[string]string{"WWW-Authenticate": `Bearer realm="x"`}, body: `{"error":"unauthorized"}`},
			want:  []string{"HTTP 401 unauthorized", "msiEndpoint points at IMDS or the Azure Arc agent"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEndpoint(t, tt.reply)
			c, _, _ := testCred(t, Options{Endpoint: f.URL + "/metadata/identity", ClientID: tt.clientID})
			_, err := getToken(t, c, vaultScope)
			var re *ResponseError
			if !errors.As(err, &re) || re.StatusCode != tt.reply.status {
				t.Fatalf("err = %v, want a *ResponseError with status %d", err, tt.reply.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// A description that ends its sentence gets no second period before the hint.
func TestResponseErrorEndsEachSentenceOnce(t *testing.T) {
	e := &ResponseError{Identity: "system-assigned identity", StatusCode: 500, Description: "Injected fault f1: HTTP 500.", Hint: "The endpoint failed"}
	if got := e.Error(); strings.Contains(got, "..") || !strings.Contains(got, "HTTP 500. The endpoint failed") {
		t.Errorf("Error() = %q", got)
	}
}
