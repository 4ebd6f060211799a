package keyvault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/akvvm/akvvm/internal/identity"
)

// tries remembers how the latest try of one call failed. azcore answers a
// call whose context ended with the bare context error, so without it a
// call cut short by the agent's budget for one check would lose the real
// cause (a refused connection, an HTTP 503, the identity's failure).
type tries struct {
	call context.Context

	mu        sync.Mutex
	last      error
	connected bool // the latest try got a connection to the vault
}

type triesKey struct{}

// withTries returns ctx carrying a fresh record of tries.
func withTries(ctx context.Context) (context.Context, *tries) {
	t := &tries{}
	ctx = context.WithValue(ctx, triesKey{}, t)
	t.call = ctx
	return ctx, t
}

func triesFrom(ctx context.Context) *tries {
	t, _ := ctx.Value(triesKey{}).(*tries)
	return t
}

// record keeps err as the latest failure, unless it only says that the
// call's own context ended: then the failure before it stays the cause.
// The identity's GaveUpError still names one.
func (t *tries) record(err error) {
	var gaveUp *identity.GaveUpError
	if t.call.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) && !errors.As(err, &gaveUp) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = err
}

func (t *tries) setConnected(v bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.connected = v
}

// explain turns the error of a call that ran out of time into a
// TimeoutError naming the latest try's failure; other errors stay as they
// are.
func (t *tries) explain(err error, tryTimeout time.Duration) error {
	cut := t.call.Err() != nil
	if err == nil || !(cut || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !cut && t.last != nil {
		return t.last // every try hit its own limit; the last one says so
	}
	return &TimeoutError{Last: t.last, Connected: t.connected, Err: err, TryTimeout: tryTimeout, Check: cut}
}

// TimeoutError is a call that ran out of time: the check's budget ended
// (Check), or every try hit its per-try limit. Last is the latest try's
// failure, if one came before; errors.As finds an *azcore.ResponseError
// in it, so the HTTP status stays known.
type TimeoutError struct {
	Last       error
	Connected  bool
	Err        error
	TryTimeout time.Duration
	Check      bool
}

func (e *TimeoutError) Error() string {
	switch {
	case e.Last != nil && e.Check:
		return describeCause(e.Last) + "; retrying it ran out of this check's time"
	case e.Connected:
		return "no answer: the vault accepted the connection but did not respond within this check's time (a firewall or proxy dropping traffic?)"
	case e.Check:
		return "no connection to the vault within this check's time: check DNS, routes and firewalls to the vault"
	}
	return fmt.Sprintf("no answer within the per-try limit of %s: %v", e.TryTimeout, e.Err)
}

// Unwrap returns the latest try's failure and the context's error.
func (e *TimeoutError) Unwrap() []error {
	if e.Last == nil {
		return []error{e.Err}
	}
	return []error{e.Last, e.Err}
}

// tryPolicy records every try of a call (a per-retry policy): whether it
// got a connection, and how it failed.
type tryPolicy struct{ tryTimeout time.Duration }

func (p tryPolicy) Do(req *policy.Request) (*http.Response, error) {
	t := triesFrom(req.Raw().Context())
	if t == nil {
		return req.Next()
	}
	t.setConnected(false)
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { t.setConnected(true) }}
	resp, err := req.Clone(httptrace.WithClientTrace(req.Raw().Context(), trace)).Next()
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded) && t.call.Err() == nil:
		what := "no connection to the vault"
		t.mu.Lock()
		if t.connected {
			what = "no answer from the vault (the connection was accepted)"
		}
		t.mu.Unlock()
		t.record(fmt.Errorf("%s within the per-try limit of %s: %w", what, p.tryTimeout, unwrapURL(err)))
	case err != nil:
		t.record(unwrapURL(err)) // the request URL, with its query, says nothing the message does not
	case resp.StatusCode >= 400 && !isChallenge(resp):
		t.record(runtime.NewResponseError(resp)) // reads the body once; azcore keeps it for the caller
	}
	return resp, err
}

// isChallenge reports the 401 that starts Key Vault's authentication.
func isChallenge(resp *http.Response) bool {
	return resp.StatusCode == http.StatusUnauthorized && strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer")
}

// recordingCredential records token failures in the call's tries.
type recordingCredential struct{ azcore.TokenCredential }

func (c recordingCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.TokenCredential.GetToken(ctx, o)
	if err != nil {
		if t := triesFrom(ctx); t != nil {
			t.record(err)
		}
	}
	return tok, err
}
