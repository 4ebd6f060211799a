package identity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/akvvm/akvvm/internal/transport"
)

const (
	// attemptTimeout bounds one request even when HTTPClient has no
	// timeout; azidentity uses the same per-try limit for IMDS.
	attemptTimeout = time.Minute
	// MaxResponseSize is the largest body read from the endpoint; a token
	// response is a few kilobytes. A larger answer is refused while it is
	// read (at once when its Content-Length says so) and not retried.
	MaxResponseSize = 64 << 10
)

// limitService says, in a TooLargeError, what the limit is for.
const limitService = "the identity endpoint (a token response is a few KB)"

// result is the outcome of one attempt.
type result struct {
	tok        azcore.AccessToken
	status     int    // 0 when no response arrived
	retryAfter string // the Retry-After header, if any
	retry      bool   // whether the IMDS guidance allows another attempt
	err        error
}

// fetch requests a token for resource, retrying per the IMDS guidance;
// failed, when set, hears of every failed attempt that is retried.
func (c *Credential) fetch(ctx context.Context, resource string, failed func(error)) (azcore.AccessToken, error) {
	if err := c.waitNotBefore(ctx, failed); err != nil {
		return azcore.AccessToken{}, err
	}
	for attempt := 1; ; attempt++ {
		r := c.attempt(ctx, resource)
		c.noteRetryAfter(r)
		if r.err == nil {
			c.log.Debug("managed identity token obtained", "identity", c.Describe(), "resource", resource,
				"expires", r.tok.ExpiresOn, "attempts", attempt)
			return r.tok, nil
		}
		if ctx.Err() != nil {
			return azcore.AccessToken{}, fmt.Errorf("identity: %s: token request stopped: %w", c.Describe(), context.Cause(ctx))
		}
		if !r.retry || attempt > c.maxRetries {
			return azcore.AccessToken{}, withAttempts(r.err, attempt)
		}
		if failed != nil {
			failed(withAttempts(r.err, attempt))
		}
		d := retryDelay(attempt, r.status, r.retryAfter, c.now(), c.jitter())
		c.log.Warn("managed identity token request failed; retrying", "identity", c.Describe(),
			"resource", resource, "status", r.status, "attempt", attempt, "delay", d, "error", r.err)
		if err := c.sleep(ctx, d); err != nil {
			return azcore.AccessToken{}, fmt.Errorf("identity: %s: token request stopped while waiting to retry after %v: %w", c.Describe(), r.err, err)
		}
	}
}

// withAttempts records the number of attempts in a final error.
func withAttempts(err error, attempts int) error {
	var re *ResponseError
	if errors.As(err, &re) {
		re.Attempts = attempts
		return err
	}
	if attempts > 1 {
		return fmt.Errorf("%w (after %d attempts)", err, attempts)
	}
	return err
}

// attempt sends one request, answering an Azure Arc challenge once.
func (c *Credential) attempt(ctx context.Context, resource string) result {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	start := c.now()
	apiVersion := imdsAPIVersion
	if isArcEndpoint(c.endpoint) {
		apiVersion = arcAPIVersion
	}
	resp, err := c.send(ctx, resource, apiVersion, "")
	if err != nil {
		return c.networkResult(err)
	}
	challenged := false
	if resp.StatusCode == http.StatusUnauthorized {
		if realm, ok := parseBasicRealm(resp.Header.Get("WWW-Authenticate")); ok {
			drain(resp)
			key, err := readArcKey(realm, c.arcKeyDir)
			if err != nil {
				return result{err: fmt.Errorf("identity: %s: %w", c.Describe(), err)}
			}
			challenged = true
			c.log.Debug("answering the Azure Arc challenge", "identity", c.Describe(), "realm", realm)
			// Arc's agent requires its own api-version; the challenge is
			// how an Arc agent on a non-default port is recognised.
			if resp, err = c.send(ctx, resource, arcAPIVersion, "Basic "+key); err != nil {
				return c.networkResult(err)
			}
		}
	}
	if err := transport.LimitBody(resp, MaxResponseSize, limitService); err != nil {
		return c.refusedResult(err)
	}
	defer drain(resp)
	body, err := io.ReadAll(resp.Body)
	var tooLarge *transport.TooLargeError
	if errors.As(err, &tooLarge) {
		return c.refusedResult(err)
	}
	if err != nil {
		return c.networkResult(fmt.Errorf("HTTP %d, but %w", resp.StatusCode, transport.NameConnError(c.endpoint.Host, err)))
	}
	if resp.StatusCode == http.StatusOK {
		tok, err := parseToken(body, start)
		if err != nil {
			return result{status: resp.StatusCode, err: fmt.Errorf("identity: %s: HTTP 200 but %w", c.Describe(), err)}
		}
		return result{tok: tok, status: resp.StatusCode}
	}
	code, desc := parseErrorBody(body)
	return result{
		status:     resp.StatusCode,
		retryAfter: resp.Header.Get("Retry-After"),
		retry:      retryable(resp.StatusCode),
		err: &ResponseError{
			Identity:    c.Describe(),
			StatusCode:  resp.StatusCode,
			Code:        code,
			Description: desc,
			Attempts:    1,
			Hint:        responseHint(resp.StatusCode, code, c.selector.field, challenged),
		},
	}
}

// send issues one GET; authorization is empty or an Arc "Basic" value.
func (c *Credential) send(ctx context.Context, resource, apiVersion, authorization string) (*http.Response, error) {
	u := *c.endpoint
	q := u.Query()
	q.Set("api-version", apiVersion)
	q.Set("resource", resource)
	if c.selector.param != "" {
		q.Set(c.selector.param, c.selector.value)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Metadata", "true")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return c.client.Do(req)
}

// networkResult describes a request that got no usable response; those are
// retried, except a refused redirect. The URL is dropped from the error:
// Describe already names it. A connection refused, reset or closed early
// is named as such, with the host.
func (c *Credential) networkResult(err error) result {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if _, _, refused := transport.AsRefused(err); refused {
		return c.refusedResult(err)
	}
	err = transport.NameConnError(c.endpoint.Host, err)
	msg := fmt.Errorf("identity: %s: %w", c.Describe(), err)
	if hint := networkHint(err, c.endpoint.String() == DefaultEndpoint); hint != "" {
		msg = fmt.Errorf("%w. %s", msg, hint)
	}
	return result{retry: true, err: msg}
}

// refusedResult describes an answer akvvm refused (a redirect, an oversize
// body); the same request would get it again, so it is not retried.
func (c *Credential) refusedResult(err error) result {
	return result{err: fmt.Errorf("identity: %s: %w", c.Describe(), err)}
}

// drain reads a little of the body and closes it so the connection can be
// reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
}
