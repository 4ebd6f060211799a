package transport

import (
	"errors"
	"fmt"
	"net/http"
)

// RedirectError is a redirect that akvvm refused to follow. Key Vault and
// the identity endpoint (IMDS, Azure Arc) never redirect, so a redirect
// means something on the way answers for them; following it would install
// what another host serves.
type RedirectError struct {
	// From is the host that answered with the redirect.
	From string
	// To is the host the redirect points at.
	To string
	// Status is the redirect's HTTP status, such as 302.
	Status int
}

// Error reads like "myvault.vault.azure.net answered with a redirect to
// evil.example.com; Key Vault and the identity endpoint never redirect, so
// akvvm refuses to follow it".
func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s answered with a redirect to %s (HTTP %d); Key Vault and the identity endpoint never redirect, so akvvm refuses to follow it",
		e.From, e.To, e.Status)
}

// NonRetriable tells azcore's retry policy not to retry: the same request
// gets the same redirect.
func (e *RedirectError) NonRetriable() {}

// refuseRedirect is an http.Client's CheckRedirect that refuses every
// redirect: req is the request the redirect asks for, and via[len(via)-1]
// the one that was redirected.
func refuseRedirect(req *http.Request, via []*http.Request) error {
	e := &RedirectError{To: req.URL.Host}
	if len(via) > 0 {
		e.From = via[len(via)-1].URL.Host
	}
	if req.Response != nil {
		e.Status = req.Response.StatusCode
	}
	if e.To == "" {
		e.To = "(no host)"
	}
	return e
}

// AsRefused returns the RedirectError or TooLargeError in err's chain:
// an answer akvvm refused to use. ok is false when there is none.
func AsRefused(err error) (host string, status int, ok bool) {
	var re *RedirectError
	if errors.As(err, &re) {
		return re.From, re.Status, true
	}
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return tl.Host, tl.Status, true
	}
	return "", 0, false
}
