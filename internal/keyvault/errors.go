package keyvault

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/akvvm/akvvm/internal/transport"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// Error is a failed Key Vault call, carrying what an operator needs.
type Error struct {
	Op       string
	VaultURL string
	Name     string
	Version  string
	Err      error
}

func (e *Error) Error() string {
	target := e.Name
	if e.Version != "" {
		target += "/" + e.Version
	}
	return fmt.Sprintf("key vault: %s secret %s in %s: %s", e.Op, target, e.VaultURL, describeCause(e.Err))
}

// describeCause renders a failure: an HTTP answer as its status, Key
// Vault error code and what to do; a timeout with the failure before it.
func describeCause(err error) string {
	var te *TimeoutError
	if errors.As(err, &te) {
		return te.Error()
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		msg := fmt.Sprintf("HTTP %d %s", re.StatusCode, re.ErrorCode)
		if hint := hintFor(re.StatusCode); hint != "" {
			msg += ". " + hint
		}
		return msg
	}
	return err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// StatusCode returns the HTTP status of the failed call, or 0 when no
// response arrived.
func (e *Error) StatusCode() int {
	var re *azcore.ResponseError
	if errors.As(e.Err, &re) {
		return re.StatusCode
	}
	return 0
}

// ErrorCode returns Key Vault's error code, such as SecretNotFound.
func (e *Error) ErrorCode() string {
	var re *azcore.ResponseError
	if errors.As(e.Err, &re) {
		return re.ErrorCode
	}
	return ""
}

// RetryAfter returns the delay the service asked for, or 0.
func (e *Error) RetryAfter(now time.Time) time.Duration {
	var re *azcore.ResponseError
	if !errors.As(e.Err, &re) || re.RawResponse == nil {
		return 0
	}
	h := re.RawResponse.Header
	if ms, err := strconv.Atoi(h.Get("retry-after-ms")); err == nil && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	d, _ := transport.ParseRetryAfter(h.Get("Retry-After"), now)
	return d
}

// Permanent reports whether retrying soon cannot help: the configuration or
// the vault's access policy must change first (401, 403, 404, 400).
func (e *Error) Permanent() bool {
	switch e.StatusCode() {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return true
	}
	return false
}

func hintFor(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "The token was refused; check that the identity belongs to the vault's tenant"
	case http.StatusForbidden:
		return "The identity lacks access: grant it secrets get and list (or the Key Vault Secrets User role), or allow this machine through the vault firewall"
	case http.StatusNotFound:
		return "Check the secret name and version in observedCertificates"
	case http.StatusTooManyRequests:
		return "The vault is throttling requests; akvvm backs off"
	}
	return ""
}
