package pki

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Request describes a certificate to issue.
type Request struct {
	// CommonName is the subject CN; the first DNS name is used when empty.
	CommonName string
	// DNSNames are the SANs; CommonName is added when DNSNames is empty and
	// it is a valid host name.
	DNSNames []string
	// KeyType is the leaf key; the default is RSA2048.
	KeyType KeyType
	// NotBefore is the start of validity; the default is now minus 5 minutes.
	NotBefore time.Time
	// Validity is the lifetime; the default is 365 days.
	Validity time.Duration
	// ServerAuth adds the server-auth extended key usage (id-kp-serverAuth).
	ServerAuth bool
	// ClientAuth adds the client-auth extended key usage (id-kp-clientAuth).
	ClientAuth bool
	// SelfSigned issues a self-signed leaf with no chain (for tests of untrusted chains).
	SelfSigned bool
}

// Issued is a leaf with its key and its chain (intermediate then root; empty when self-signed).
type Issued struct {
	Leaf  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate
}

// Issue creates a key and a certificate as described by req, signed by the
// intermediate unless req.SelfSigned is set.
func (a *Authority) Issue(req Request) (*Issued, error) {
	tmpl, keyType, err := a.leafTemplate(req)
	if err != nil {
		return nil, err
	}
	key, err := keyType.generate()
	if err != nil {
		return nil, err
	}
	if req.SelfSigned {
		leaf, err := sign(tmpl, key.Public(), nil, key)
		if err != nil {
			return nil, err
		}
		return &Issued{Leaf: leaf, Key: key}, nil
	}
	if tmpl.NotAfter.After(a.inter.NotAfter) {
		return nil, fmt.Errorf("pki: certificate %q would expire after the issuing CA (%s): ask for a shorter validity",
			tmpl.Subject.CommonName, a.inter.NotAfter.UTC().Format(time.RFC3339))
	}
	leaf, err := sign(tmpl, key.Public(), a.inter, a.interKey)
	if err != nil {
		return nil, err
	}
	return &Issued{Leaf: leaf, Key: key, Chain: []*x509.Certificate{a.inter, a.root}}, nil
}

// leafTemplate validates req, applies its defaults and returns the template
// and key type to use.
func (a *Authority) leafTemplate(req Request) (*x509.Certificate, KeyType, error) {
	keyType := RSA2048
	if req.KeyType != "" {
		kt, err := ParseKeyType(string(req.KeyType))
		if err != nil {
			return nil, "", err
		}
		keyType = kt
	}
	dnsNames := append([]string(nil), req.DNSNames...)
	if len(dnsNames) == 0 && isHostName(req.CommonName) {
		dnsNames = []string{req.CommonName}
	}
	commonName := req.CommonName
	if commonName == "" && len(dnsNames) > 0 {
		commonName = dnsNames[0]
	}
	if commonName == "" {
		return nil, "", errors.New("pki: certificate request needs a CommonName or DNSNames")
	}
	notBefore := req.NotBefore
	if notBefore.IsZero() {
		notBefore = a.now().Add(-backdate)
	}
	validity := req.Validity
	if validity == 0 {
		validity = defaultLeafValidity
	}
	if validity < 0 {
		return nil, "", fmt.Errorf("pki: certificate %q has negative validity %s: give a positive duration", commonName, validity)
	}
	usage := x509.KeyUsageDigitalSignature
	if keyType.isRSA() {
		usage |= x509.KeyUsageKeyEncipherment
	}
	var eku []x509.ExtKeyUsage
	if req.ServerAuth {
		eku = append(eku, x509.ExtKeyUsageServerAuth)
	}
	if req.ClientAuth {
		eku = append(eku, x509.ExtKeyUsageClientAuth)
	}
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName},
		DNSNames:              dnsNames,
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity),
		KeyUsage:              usage,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
	}, keyType, nil
}

// isHostName reports whether s can be a DNS SAN: dot-separated labels of
// ASCII letters, digits and hyphens, optionally with a leading "*." wildcard.
func isHostName(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
