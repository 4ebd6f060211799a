package identity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// refreshBefore is how long before expiry a cached token is replaced. It is
// safe because Key Vault and Entra ID tolerate about 5 minutes of clock skew,
// and 5 minutes also covers a request's own retries (azcore waits at most
// about a minute); IMDS tokens live about 24 hours, so refreshing 5 minutes
// early costs one extra request a day.
const refreshBefore = 5 * time.Minute

// errNotSeconds reports an expiry field that is not a number of seconds.
var errNotSeconds = errors.New("token response has an expires_in, expires_on or not_before field that is not a number of seconds")

// seconds is a JSON number of seconds that IMDS sends as a string
// ("86399") and other endpoints as a number (86399).
type seconds struct {
	v   int64
	set bool
}

// UnmarshalJSON accepts a number, a numeric string, or null.
func (s *seconds) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	text := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
		text = strings.TrimSpace(text)
		if text == "" {
			return nil
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
			return errNotSeconds
		}
		n = int64(f)
	}
	s.v, s.set = n, true
	return nil
}

// tokenResponse is the JSON body of a successful token response.
type tokenResponse struct {
	AccessToken string  `json:"access_token"`
	TokenType   string  `json:"token_type"`
	ExpiresIn   seconds `json:"expires_in"`
	ExpiresOn   seconds `json:"expires_on"`
	NotBefore   seconds `json:"not_before"`
}

// maxLifetime bounds the expiry read from a response; a larger value is an
// endpoint bug, and trusting it would keep a token cached for years.
const maxLifetime = 30 * 24 * time.Hour

// parseToken reads a token response received at now. It prefers expires_in
// (immune to clock skew between the machine and the endpoint) over
// expires_on. Errors never quote the body, which holds the token.
func parseToken(body []byte, now time.Time) (azcore.AccessToken, error) {
	var r tokenResponse
	if err := json.Unmarshal(body, &r); err != nil {
		if errors.Is(err, errNotSeconds) {
			return azcore.AccessToken{}, err
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return azcore.AccessToken{}, fmt.Errorf("token response field %q has the wrong JSON type (%s)", typeErr.Field, typeErr.Value)
		}
		return azcore.AccessToken{}, fmt.Errorf("token response is not valid JSON (%d bytes); is msiEndpoint a managed-identity token endpoint?", len(body))
	}
	if r.AccessToken == "" {
		return azcore.AccessToken{}, errors.New("token response has no access_token")
	}
	if r.TokenType != "" && !strings.EqualFold(r.TokenType, "Bearer") {
		return azcore.AccessToken{}, errors.New("token response's token_type is not Bearer; akvvm needs a bearer token")
	}
	var expires time.Time
	switch {
	case r.ExpiresIn.set:
		if r.ExpiresIn.v <= 0 || r.ExpiresIn.v > int64(maxLifetime/time.Second) {
			return azcore.AccessToken{}, fmt.Errorf("token response has expires_in %d s; want 1 s to %s", r.ExpiresIn.v, maxLifetime)
		}
		expires = now.Add(time.Duration(r.ExpiresIn.v) * time.Second)
	case r.ExpiresOn.set:
		expires = time.Unix(r.ExpiresOn.v, 0)
		if !expires.After(now) || expires.Sub(now) > maxLifetime {
			return azcore.AccessToken{}, fmt.Errorf("token response has expires_on %s, which is not within %s after now (%s); check the machine's clock",
				expires.UTC().Format(time.RFC3339), maxLifetime, now.UTC().Format(time.RFC3339))
		}
	default:
		return azcore.AccessToken{}, errors.New("token response has neither expires_in nor expires_on")
	}
	return azcore.AccessToken{Token: r.AccessToken, ExpiresOn: expires, RefreshOn: refreshOn(now, expires)}, nil
}

// refreshOn is when a token obtained at now should be replaced:
// refreshBefore ahead of expiry, or half-way for a token that lives less
// than twice that, so a short-lived token is not fetched again at once.
func refreshOn(now, expires time.Time) time.Time {
	margin := min(refreshBefore, expires.Sub(now)/2)
	return expires.Add(-margin)
}
