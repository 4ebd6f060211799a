package keyvault

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/akvvm/akvvm/internal/transport"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// Key Vault's error codes that akvvm explains. Key Vault answers a 403
// with the code Forbidden and the reason as the inner error's code.
const (
	CodeSecretDisabled        = "SecretDisabled"
	CodeForbiddenByPolicy     = "ForbiddenByPolicy"
	CodeForbiddenByRbac       = "ForbiddenByRbac"
	CodeAccessDenied          = "AccessDenied"
	CodeForbiddenByFirewall   = "ForbiddenByFirewall"
	CodeForbiddenByConnection = "ForbiddenByConnection"
	CodeSecretNotFound        = "SecretNotFound"
)

// Error is a failed Key Vault call, carrying what an operator needs.
type Error struct {
	Op       string
	VaultURL string
	Name     string
	Version  string
	Err      error

	// code is the most specific error code of the body (the innermost
	// innererror's), message Key Vault's message; both empty when the body
	// was not read (NewError reads it).
	code, message string
}

// NewError describes a failed call of op on version of secret name: it
// reads Key Vault's innermost error code and its message from the response
// body (azcore keeps only the outer code), and names a connection that was
// reset or closed early with the vault's host.
func NewError(op, vaultURL, name, version string, err error) *Error {
	e := &Error{Op: op, VaultURL: vaultURL, Name: name, Version: version, Err: err}
	var re *azcore.ResponseError
	var te *TimeoutError
	if errors.As(err, &te) && !errors.As(err, &re) {
		return e // it names its own cause
	}
	if !errors.As(err, &re) {
		e.Err = transport.NameConnError(e.host(), unwrapURL(err))
		return e
	}
	if re.RawResponse != nil && re.RawResponse.Body != nil {
		if body, berr := runtime.Payload(re.RawResponse); berr == nil {
			e.code, e.message = parseBody(body)
		}
	}
	return e
}

// unwrapURL drops net/http's `Get "https://…?api-version=…":` prefix: the
// message names the vault and secret already.
func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok && ue.Err != nil {
		return ue.Err // only at the top: a wrapping message says more
	}
	return err
}

// kvError is Key Vault's error body: {"error":{"code","message","innererror":{…}}}.
type kvError struct {
	Code       string   `json:"code"`
	Message    string   `json:"message"`
	InnerError *kvError `json:"innererror"`
}

// parseBody returns the innermost error code and the outer message of an
// error body, or empty strings when it is not Key Vault's.
func parseBody(body []byte) (code, message string) {
	var b struct {
		Error *kvError `json:"error"`
	}
	if json.Unmarshal(body, &b) != nil || b.Error == nil {
		return "", ""
	}
	message = b.Error.Message
	for e, depth := b.Error, 0; e != nil && depth < 8; e, depth = e.InnerError, depth+1 {
		if e.Code != "" {
			code = e.Code
		}
		if message == "" {
			message = e.Message
		}
	}
	return code, message
}

// Subject names the call: "key vault: get secret web/0123… in
// https://myvault.vault.azure.net". Error is Subject, ": " and the cause,
// which is the same for every secret that failed the same way.
func (e *Error) Subject() string {
	if e.Name == "" {
		return fmt.Sprintf("key vault: %s in %s", e.Op, e.VaultURL) // a call about the vault, not one secret
	}
	target := e.Name
	if e.Version != "" {
		target += "/" + e.Version
	}
	return fmt.Sprintf("key vault: %s secret %s in %s", e.Op, target, e.VaultURL)
}

func (e *Error) Error() string { return e.Subject() + ": " + e.cause() }

// cause renders the failure without the call's subject: a timeout with the
// latest try's failure, an HTTP answer with Key Vault's most specific code
// and what to do, a connection failure as named by NewError.
func (e *Error) cause() string {
	var te *TimeoutError
	if errors.As(e.Err, &te) {
		return te.Error()
	}
	var re *azcore.ResponseError
	if !errors.As(e.Err, &re) {
		return e.Err.Error()
	}
	msg := fmt.Sprintf("HTTP %d", re.StatusCode)
	code := e.ErrorCode()
	if code != "" {
		msg += " " + code
	}
	explanation, quote := explain(re.StatusCode, code, e.Version)
	if quote {
		if m := shorten(e.message, 200); m != "" {
			msg += fmt.Sprintf(" (Key Vault: %q)", m)
		}
	}
	if explanation != "" {
		msg += ": " + explanation
	}
	return msg
}

// describeCause renders the latest try's failure of a call that ran out of
// time, as Error would render it.
func describeCause(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return NewError("", "", "", "", err).cause()
	}
	return unwrapURL(err).Error()
}

func (e *Error) Unwrap() error { return e.Err }

// StatusCode returns the HTTP status of the failed call, or 0 when no
// response arrived. An answer of the vault that akvvm refused (a redirect,
// an oversize body) counts with its status; the identity endpoint's does
// not, since the vault was not asked.
func (e *Error) StatusCode() int {
	var re *azcore.ResponseError
	if errors.As(e.Err, &re) {
		return re.StatusCode
	}
	if host, status, ok := transport.AsRefused(e.Err); ok && strings.EqualFold(host, e.host()) {
		return status
	}
	return 0
}

// host returns the vault's host name, or VaultURL when it has none.
func (e *Error) host() string { return hostOf(e.VaultURL) }

// hostOf returns the host name of vaultURL, or vaultURL when it has none.
func hostOf(vaultURL string) string {
	if u, err := url.Parse(vaultURL); err == nil && u.Host != "" {
		return u.Host
	}
	return vaultURL
}

// Refused reports an answer akvvm refused to use, from the vault or the
// identity endpoint: a redirect, or a body larger than akvvm reads.
func (e *Error) Refused() bool {
	_, _, ok := transport.AsRefused(e.Err)
	return ok
}

// ErrorCode returns Key Vault's most specific error code: the inner
// error's code when there is one (SecretDisabled, ForbiddenByPolicy, …),
// else the outer code (SecretNotFound, Forbidden, …).
func (e *Error) ErrorCode() string {
	if e.code != "" {
		return e.code
	}
	var re *azcore.ResponseError
	if errors.As(e.Err, &re) {
		return re.ErrorCode
	}
	return ""
}

// Disabled reports a refusal because the version is disabled in the vault.
func (e *Error) Disabled() bool {
	return e.StatusCode() == http.StatusForbidden && e.ErrorCode() == CodeSecretDisabled
}

// AccessDenied reports a refusal of the identity itself: the token (401)
// or the identity's permissions (403 other than a disabled version or the
// vault's network rules), where naming the identity helps.
func (e *Error) AccessDenied() bool {
	switch e.StatusCode() {
	case http.StatusUnauthorized:
		return true
	case http.StatusForbidden:
		switch e.ErrorCode() {
		case CodeSecretDisabled, CodeForbiddenByFirewall, CodeForbiddenByConnection:
			return false
		}
		return true
	}
	return false
}

// RetryAfter returns the delay the service asked for, or 0.
func (e *Error) RetryAfter(now time.Time) time.Duration {
	var re *azcore.ResponseError
	if !errors.As(e.Err, &re) || re.RawResponse == nil {
		return 0
	}
	return retryAfterOf(re.RawResponse, now)
}

// Permanent reports whether retrying soon cannot help: the configuration or
// the vault's access policy must change first (401, 403, 404, 400), or
// akvvm refused the answer (Refused), which the same request gets again.
func (e *Error) Permanent() bool {
	if e.Refused() {
		return true
	}
	switch e.StatusCode() {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return true
	}
	return false
}

// explain says what an error answer means and what to do; quote says
// whether Key Vault's own message adds to it (a client address, an issuer).
func explain(status int, code, version string) (text string, quote bool) {
	switch {
	case status == http.StatusForbidden && code == CodeSecretDisabled:
		if version == "" {
			return "the secret's current version is disabled in the vault; enable it there, or akvvm uses the newest enabled version", false
		}
		return fmt.Sprintf("version %s is disabled in the vault; enable it there to use it", version), false
	case status == http.StatusForbidden && code == CodeForbiddenByPolicy:
		return "the vault's access policies do not let this identity read secrets: give it secrets get and list in an access policy (or switch the vault to Azure RBAC and assign the Key Vault Secrets User role)", false
	case status == http.StatusForbidden && (code == CodeForbiddenByRbac || code == CodeAccessDenied):
		return "no role assignment lets this identity read secrets: assign it the Key Vault Secrets User role on the vault (new assignments take a few minutes to apply)", false
	case status == http.StatusForbidden && code == CodeForbiddenByFirewall:
		return "the vault's firewall refused this machine's address: allow the address or its virtual network in the vault's Networking settings, or reach the vault through a private endpoint", true
	case status == http.StatusForbidden && code == CodeForbiddenByConnection:
		return "the vault accepts requests only through its private endpoint: reach it through the private link from this network, or allow public network access", true
	case status == http.StatusForbidden:
		return "the identity lacks access: grant it secrets get and list (or the Key Vault Secrets User role), or allow this machine through the vault firewall", true
	case status == http.StatusUnauthorized:
		return "the token was refused; check that the identity belongs to the vault's tenant", true
	case status == http.StatusNotFound:
		return "check the secret name and version in observedCertificates", code != CodeSecretNotFound
	case status == http.StatusTooManyRequests:
		return "the vault is throttling requests; akvvm backs off", false
	case status >= 500:
		return "Key Vault failed; akvvm retries", true
	}
	return "", true
}

// shorten makes s one short line: control characters become spaces, runs
// of space collapse, and it is cut to at most n runes after the first
// sentence that fits.
func shorten(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndex(cut, ". "); i > n/3 {
		return cut[:i+1] + " …"
	}
	return cut + "…"
}
