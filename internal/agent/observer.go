package agent

import (
	"errors"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/identity"
	"github.com/akvvm/akvvm/internal/keyvault"
)

// Observer learns the outcome of every check and pass, for metrics. Its
// methods are called without the agent's lock and must return quickly.
type Observer interface {
	// Certificates names the certificates of the spec, at the start and
	// after every reload; the others are forgotten.
	Certificates(keys []string)
	// Secrets names the plain secrets (observedSecrets) the same way.
	Secrets(keys []string)
	// Checked reports one finished check of a certificate.
	Checked(c Check)
	// PassDone reports a finished pass and how long it took in real time.
	PassDone(d time.Duration)
}

// Check is the outcome of one check of one certificate.
type Check struct {
	// Key is the certificate's key (vault/name), never a version.
	Key string
	// Secret says the check was of a plain secret (observedSecrets).
	Secret bool
	// NotAfter and InstalledAt describe the installed current version;
	// both are zero when none is known.
	NotAfter    time.Time
	InstalledAt time.Time
	// LastSuccess is the time of the latest successful check, or zero.
	LastSuccess time.Time
	// Failures counts consecutive failed checks; 0 after a success.
	Failures int
	// Cause is the failure's class (see the Cause constants); empty after
	// a success.
	Cause string
	// Installs counts the versions this check installed or made current
	// again, Rollbacks those of them that replaced a withdrawn version.
	Installs, Rollbacks int
}

// The classes of Check.Cause: a few fixed names, or the Key Vault error
// code when it is one of those keyvault names.
const (
	CauseIdentity = "identity"          // no token from the identity endpoint
	CauseNetwork  = "network"           // no HTTP answer from Key Vault
	CauseHTTP4xx  = "http_4xx"          // a 4xx without a known Key Vault code
	CauseHTTP429  = "http_429"          // throttled
	CauseHTTP5xx  = "http_5xx"          // a 5xx without a known Key Vault code
	CauseDecode   = "decode"            // the secret is not a usable certificate
	CauseChain    = "chain"             // the 4.0 chain check failed
	CauseInstall  = "install"           // the store failed
	CauseNoUsable = "no_usable_version" // the vault lists no usable version
	CauseOther    = "other"
)

// The syncError kinds.
const (
	kindDecode   = CauseDecode
	kindChain    = CauseChain
	kindInstall  = CauseInstall
	kindNoUsable = CauseNoUsable
)

// knownCodes are the Key Vault error codes that become a cause of their
// own; any other code falls back to its status class, so a vault cannot
// grow the label's values.
var knownCodes = map[string]bool{
	keyvault.CodeSecretDisabled: true, keyvault.CodeForbiddenByPolicy: true,
	keyvault.CodeForbiddenByRbac: true, keyvault.CodeAccessDenied: true,
	keyvault.CodeForbiddenByFirewall: true, keyvault.CodeForbiddenByConnection: true,
	keyvault.CodeSecretNotFound: true, "Forbidden": true, "Unauthorized": true,
	"Throttled": true, "BadParameter": true, "NotFound": true,
}

// CauseOf classifies a failed check into a small fixed set of names.
func CauseOf(err error) string {
	if err == nil {
		return ""
	}
	var se *syncError
	for e := err; errors.As(e, &se); e = se.err {
		if se.kind != "" {
			return se.kind // the first step in the chain that named itself
		}
	}
	var kv *keyvault.Error
	isKV := errors.As(err, &kv)
	if (!isKV || kv.StatusCode() == 0) && fromIdentity(err) {
		return CauseIdentity
	}
	if !isKV {
		return CauseOther
	}
	if code := kv.ErrorCode(); knownCodes[code] {
		return code
	}
	switch s := kv.StatusCode(); {
	case s == 429:
		return CauseHTTP429
	case s >= 500:
		return CauseHTTP5xx
	case s >= 400:
		return CauseHTTP4xx
	case s == 0:
		return CauseNetwork
	}
	return CauseOther
}

// fromIdentity reports a failure without an HTTP answer from Key Vault
// that came from the identity package, whose errors all read
// "identity: …", such as a token request the endpoint refused.
func fromIdentity(err error) bool {
	var re *identity.ResponseError
	var gu *identity.GaveUpError
	return errors.As(err, &re) || errors.As(err, &gu) || strings.Contains(err.Error(), "identity: ")
}

// noObserver is the default Observer: it does nothing.
type noObserver struct{}

func (noObserver) Certificates([]string)  {}
func (noObserver) Secrets([]string)       {}
func (noObserver) Checked(Check)          {}
func (noObserver) PassDone(time.Duration) {}

// observeSpec tells the observer the certificates of spec.
func (a *Agent) observeSpec(spec Spec) {
	keys := make([]string, 0, len(spec.Certificates))
	var secrets []string
	for _, c := range spec.Certificates {
		if c.IsSecret() {
			secrets = append(secrets, c.Key())
		} else {
			keys = append(keys, c.Key())
		}
	}
	a.deps.Observer.Certificates(keys)
	a.deps.Observer.Secrets(secrets)
}

// observe reports the check of c that just ended with res and err.
func (a *Agent) observe(c CertSpec, res result, err error) {
	ck := Check{Key: c.Key(), Secret: c.IsSecret(), Installs: res.installed + res.switched, Rollbacks: res.rollbacks}
	if res.current != nil {
		ck.NotAfter, ck.InstalledAt = res.current.NotAfter, res.current.InstalledAt
	}
	a.mu.Lock()
	st, ok := a.certs[ck.Key]
	if ok {
		ck.LastSuccess, ck.Failures = st.LastSuccess, st.Attempts
	}
	a.mu.Unlock()
	if !ok {
		return // removed by a reload meanwhile
	}
	if err != nil {
		ck.Cause = CauseOf(err)
	}
	a.deps.Observer.Checked(ck)
}
