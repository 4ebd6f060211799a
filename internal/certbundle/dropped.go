package certbundle

import (
	"crypto/x509"
	"fmt"
	"strings"
)

// DroppedCert is a certificate of the secret that is not installed, and why.
type DroppedCert struct {
	// Cert is the certificate left out.
	Cert *x509.Certificate
	// Reason says why, naming other certificates by subject and serial.
	Reason string
}

// String names the certificate by subject and serial, then the reason.
func (d DroppedCert) String() string {
	return name(d.Cert) + ": " + d.Reason
}

// maxNameLen bounds a subject in a message, since the secret chooses it.
const maxNameLen = 128

// name returns `"subject" (serial hex)`, the subject cut to maxNameLen
// runes. It holds nothing secret: both are public parts of a certificate.
func name(c *x509.Certificate) string {
	s := c.Subject.String()
	if r := []rune(s); len(r) > maxNameLen {
		s = string(r[:maxNameLen]) + "…"
	}
	return fmt.Sprintf("%q (serial %s)", s, c.SerialNumber.Text(16))
}

// DroppedList names the dropped certificates with their reasons in one
// line, separated by "; ".
func DroppedList(ds []DroppedCert) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.String()
	}
	return strings.Join(parts, "; ")
}

// notSigned is the reason for a certificate named as c's issuer whose key
// does not verify c's signature.
func notSigned(c *x509.Certificate, err error) string {
	return fmt.Sprintf("named as the issuer of %s but the signature does not verify against its key (%v)", name(c), err)
}

// notInChain is the reason for a certificate no verified link reaches.
func notInChain(leaf *x509.Certificate) string {
	return "not in the verified chain of the leaf " + name(leaf)
}
