package notify

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
)

// EventID is the lifecycle notification event id.
const EventID = 1001

// Source is the event source akvvm registers in the Application log.
const Source = "akvvm"

// Kind says why the event is raised.
type Kind string

// The reasons for event 1001.
const (
	// FirstInstall is the first version akvvm installed for a certificate.
	FirstInstall Kind = "FirstInstall"
	// Renewal replaces a previous version that shares a SAN with the new one.
	Renewal Kind = "Renewal"
	// Rollback replaces a version withdrawn in the vault (disabled, expired
	// or gone) by an older installed one made current again.
	Rollback Kind = "Rollback"
)

// Record is the content of one event 1001.
type Record struct {
	Kind          Kind
	Vault         string
	Certificate   string
	Version       string
	NewThumbprint string
	// OldThumbprint is empty on first install.
	OldThumbprint string
	StoreName     string
	StoreLocation string
	Subject       string
	SANs          []string
	NotAfter      time.Time
	// MadeCurrent says the new version was installed before and made
	// current again without a download; only the message says so.
	MadeCurrent bool
}

// Decide returns the event for e and whether it is due, with the new
// leaf from e.Bundle; see DecideCurrent.
func Decide(e agent.Event, prev *x509.Certificate) (Record, bool) {
	var cur *x509.Certificate
	if e.Bundle != nil {
		cur = e.Bundle.Leaf
	}
	return DecideCurrent(e, cur, prev)
}

// DecideCurrent returns the event for e and whether it is due. cur is the
// new current version's leaf (e.Bundle's, or read from the store when an
// installed version was made current again) and prev the previous
// version's as read from the store; either is nil when it could not be
// read, and then the event is still raised, because both are the same Key
// Vault certificate and a rebind needs the thumbprints.
func DecideCurrent(e agent.Event, cur, prev *x509.Certificate) (Record, bool) {
	r := Record{
		Kind:          FirstInstall,
		Vault:         e.Cert.Vault,
		Certificate:   e.Cert.Name,
		Version:       e.Installed.Version,
		NewThumbprint: e.Installed.Thumbprint,
		StoreName:     e.Cert.Target.StoreName,
		StoreLocation: e.Cert.Target.Location,
		NotAfter:      e.Installed.NotAfter,
		MadeCurrent:   e.Bundle == nil,
	}
	if cur != nil {
		r.Subject = cur.Subject.String()
		r.SANs = SANs(cur)
	}
	if e.Previous == nil {
		return r, true
	}
	r.Kind = Renewal
	if e.Rollback {
		r.Kind = Rollback
	}
	r.OldThumbprint = e.Previous.Thumbprint
	if strings.EqualFold(r.OldThumbprint, r.NewThumbprint) {
		return r, false
	}
	if cur == nil || prev == nil {
		return r, true
	}
	return r, SharesSAN(r.SANs, SANs(prev))
}

// SANs returns the Subject Alternative Names of c in a comparable form:
// "DNS:name" (lower case), "IP:addr", "email:addr", "URI:uri".
func SANs(c *x509.Certificate) []string {
	var out []string
	for _, d := range c.DNSNames {
		out = append(out, "DNS:"+strings.ToLower(strings.TrimSuffix(d, ".")))
	}
	for _, ip := range c.IPAddresses {
		out = append(out, "IP:"+ip.String())
	}
	for _, m := range c.EmailAddresses {
		out = append(out, "email:"+m)
	}
	for _, u := range c.URIs {
		out = append(out, "URI:"+u.String())
	}
	return out
}

// SharesSAN reports whether a and b (as returned by SANs) have a name in
// common: a binding for that name must move to the new certificate.
func SharesSAN(a, b []string) bool {
	for _, s := range a {
		if slices.Contains(b, s) {
			return true
		}
	}
	return false
}

// Message is the event's text: one "Key: value" line per field after a
// sentence, so both people and scripts can read it.
func (r Record) Message() string {
	var b strings.Builder
	switch {
	case r.Kind == FirstInstall:
		fmt.Fprintf(&b, "akvvm installed the first version of Key Vault certificate %s/%s.\r\n", r.Vault, r.Certificate)
	case r.Kind == Rollback:
		fmt.Fprintf(&b, "akvvm made an earlier version of Key Vault certificate %s/%s current again, because the newer one was withdrawn in the vault (disabled, expired or deleted): rebind %s to %s.\r\n",
			r.Vault, r.Certificate, r.OldThumbprint, r.NewThumbprint)
	case r.MadeCurrent:
		fmt.Fprintf(&b, "akvvm made an installed version of Key Vault certificate %s/%s current again: rebind %s to %s.\r\n", r.Vault, r.Certificate, r.OldThumbprint, r.NewThumbprint)
	default:
		fmt.Fprintf(&b, "akvvm installed a new version of Key Vault certificate %s/%s: rebind %s to %s.\r\n", r.Vault, r.Certificate, r.OldThumbprint, r.NewThumbprint)
	}
	for _, kv := range r.fields() {
		fmt.Fprintf(&b, "%s: %s\r\n", kv[0], kv[1])
	}
	return b.String()
}

// Strings are the event's insertion strings: the message first (what
// Event Viewer shows), then each field as "Key=value", in a fixed order.
func (r Record) Strings() []string {
	out := []string{r.Message()}
	for _, kv := range r.fields() {
		out = append(out, kv[0]+"="+kv[1])
	}
	return out
}

func (r Record) fields() [][2]string {
	notAfter := ""
	if !r.NotAfter.IsZero() {
		notAfter = r.NotAfter.UTC().Format(time.RFC3339)
	}
	return [][2]string{
		{"Kind", string(r.Kind)},
		{"OldThumbprint", r.OldThumbprint},
		{"NewThumbprint", r.NewThumbprint},
		{"StoreName", r.StoreName},
		{"StoreLocation", r.StoreLocation},
		{"Vault", r.Vault},
		{"Certificate", r.Certificate},
		{"Version", r.Version},
		{"Subject", r.Subject},
		{"SubjectAlternativeNames", strings.Join(r.SANs, ", ")},
		{"NotAfter", notAfter},
	}
}
