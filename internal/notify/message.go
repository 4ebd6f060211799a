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
}

// Decide returns the event for e and whether it is due. prev is the
// previous version's leaf as read from the store, nil when it could not be
// read; then the event is still raised, because the previous version is the
// same Key Vault certificate and a rebind needs its thumbprint.
func Decide(e agent.Event, prev *x509.Certificate) (Record, bool) {
	r := Record{
		Kind:          FirstInstall,
		Vault:         e.Cert.Vault,
		Certificate:   e.Cert.Name,
		Version:       e.Installed.Version,
		NewThumbprint: e.Installed.Thumbprint,
		StoreName:     e.Cert.Target.StoreName,
		StoreLocation: e.Cert.Target.Location,
		NotAfter:      e.Installed.NotAfter,
	}
	if e.Bundle != nil && e.Bundle.Leaf != nil {
		r.Subject = e.Bundle.Leaf.Subject.String()
		r.SANs = SANs(e.Bundle.Leaf)
	}
	if e.Previous == nil {
		return r, true
	}
	r.Kind = Renewal
	r.OldThumbprint = e.Previous.Thumbprint
	if strings.EqualFold(r.OldThumbprint, r.NewThumbprint) {
		return r, false
	}
	if prev == nil {
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
	if r.Kind == FirstInstall {
		fmt.Fprintf(&b, "akvvm installed the first version of Key Vault certificate %s/%s.\r\n", r.Vault, r.Certificate)
	} else {
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
