package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"unicode"
)

// ResponseError is a token endpoint's error answer. When retries ran out it
// describes the last answer. Use errors.As to read the status.
type ResponseError struct {
	// Identity says which identity was asked for, at which endpoint.
	Identity string
	// StatusCode is the HTTP status the endpoint answered.
	StatusCode int
	// Code is the endpoint's error code, such as "invalid_request".
	Code string
	// Description is the endpoint's error description, shortened.
	Description string
	// Attempts is how many requests were sent.
	Attempts int
	// Hint suggests what to check, or is empty.
	Hint string
}

// Error reads like "identity: system-assigned identity at URL: HTTP 400
// invalid_request: Identity not found. Check ...".
func (e *ResponseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "identity: %s: HTTP %d", e.Identity, e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Hint != "" {
		if !strings.HasSuffix(b.String(), ".") {
			b.WriteString(".")
		}
		b.WriteString(" " + e.Hint)
	}
	return b.String()
}

// parseErrorBody reads an error answer: IMDS and Arc send
// {"error":"code","error_description":"text"}; some endpoints send
// {"error":{"code":"code","message":"text"}}. Anything else becomes the
// description, shortened.
func parseErrorBody(body []byte) (code, desc string) {
	var flat struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
		Message     string          `json:"message"`
	}
	if err := json.Unmarshal(body, &flat); err != nil || flat.Error == nil {
		return "", limitText(string(body), 200)
	}
	var nested struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(flat.Error, &code) != nil && json.Unmarshal(flat.Error, &nested) == nil {
		code, desc = nested.Code, nested.Message
	}
	if desc == "" {
		desc = flat.Description
	}
	if desc == "" {
		desc = flat.Message
	}
	return limitText(code, 60), limitText(desc, 300)
}

// limitText makes s safe for one log line: control characters become
// spaces, runs of space collapse, and it is cut to at most n runes.
func limitText(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// responseHint suggests what to check after an error answer.
func responseHint(status int, code, field string, challenged bool) string {
	switch {
	case status == http.StatusBadRequest && code == "bad_request_102":
		return "The endpoint did not receive the Metadata: true header akvvm sends; IMDS must be reached directly, not through a proxy"
	case status == http.StatusBadRequest && code == "invalid_resource":
		return "Microsoft Entra ID does not know the resource; check the vault URL belongs to a known Azure cloud"
	case status == http.StatusBadRequest && field == "msiObjectId":
		return "Check msiObjectId is the object (principal) id of a user-assigned identity assigned to this machine"
	case status == http.StatusBadRequest && field == resourceIDField:
		return "Check msiClientId's resource id names a user-assigned identity assigned to this machine (better: write that identity's client id there)"
	case status == http.StatusBadRequest && field != "":
		return "Check msiClientId is the client id of a user-assigned identity assigned to this machine"
	case status == http.StatusBadRequest:
		return "Check this machine has a system-assigned identity; if it has only user-assigned identities, set msiClientId to one of their client ids"
	case status == http.StatusUnauthorized && challenged:
		return "The Azure Arc agent rejected the key from its challenge file; check the agent (azcmagent show) and retry"
	case status == http.StatusUnauthorized:
		return "The endpoint wants authentication akvvm cannot give; check msiEndpoint points at IMDS or the Azure Arc agent"
	case status == http.StatusForbidden:
		return "The endpoint refused this identity; check msiEndpoint and msiClientId"
	case status == http.StatusNotFound || status == http.StatusGone:
		return "IMDS may be updating, or msiEndpoint's path is wrong (want .../metadata/identity or .../metadata/identity/oauth2/token)"
	case status == http.StatusTooManyRequests:
		return "The endpoint throttled requests (IMDS allows 20 token requests a second per VM); look for another process requesting tokens in a loop"
	case status >= 500:
		return "The endpoint failed; if this persists, check the identity is assigned to this machine and the machine's agent is healthy"
	}
	return ""
}

// networkHint suggests what to check when the endpoint cannot be reached.
func networkHint(err error, defaultEndpoint bool) string {
	var netErr net.Error
	var opErr *net.OpError
	unreachable := (errors.As(err, &opErr) && opErr.Op == "dial") || (errors.As(err, &netErr) && netErr.Timeout())
	switch {
	case unreachable && defaultEndpoint:
		return "Is this an Azure VM? IMDS (169.254.169.254) must be reachable directly, without a proxy or a firewall rule blocking it; on an Azure Arc machine set msiEndpoint to http://localhost:40342/metadata/identity"
	case unreachable:
		return "Check msiEndpoint is right and the service behind it is running"
	}
	return ""
}
