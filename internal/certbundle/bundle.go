// Package certbundle decodes the certificate secrets Key Vault returns
// (PKCS #12 and PEM), matches the private key to its leaf certificate,
// orders the chain, and verifies it.
package certbundle

import (
	"crypto" //nolint:gosec // SHA-1 thumbprints are how Windows and Key Vault name certificates.
	"crypto/x509"
	"slices"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

// Bundle is one decoded certificate secret.
type Bundle struct {
	// Leaf is the certificate whose public key matches Key.
	Leaf *x509.Certificate
	// Key is *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey.
	Key crypto.PrivateKey
	// Chain holds the leaf's issuer first and the root last (only if
	// present). Each certificate's key verifies the signature of the one
	// before it.
	Chain []*x509.Certificate
	// ContentType is the format actually decoded: ContentTypePKCS12 or ContentTypePEM.
	ContentType string
	// Dropped lists the certificates of the secret that are not part of
	// the leaf's verified chain, in the secret's order, with the reason.
	// Repeats of a certificate are not listed.
	Dropped []DroppedCert
	// PFX is the PKCS #12 file as the secret held it, when it opened with
	// the empty password; nil for PEM. Windows imports it as is so that a
	// key provider it names is kept. It holds the private key: never log it.
	PFX []byte
}

// Thumbprint returns the upper-case hex SHA-1 of the leaf, as Windows shows it.
func (b *Bundle) Thumbprint() string { return store.Thumbprint(b.Leaf.Raw) }

// SANs returns the leaf's subject alternative names: DNS names, IP
// addresses, email addresses, then URIs.
func (b *Bundle) SANs() []string {
	l := b.Leaf
	sans := slices.Clone(l.DNSNames)
	for _, ip := range l.IPAddresses {
		sans = append(sans, ip.String())
	}
	sans = append(sans, l.EmailAddresses...)
	for _, u := range l.URIs {
		sans = append(sans, u.String())
	}
	return sans
}

// NotAfter returns the end of the leaf's validity.
func (b *Bundle) NotAfter() time.Time { return b.Leaf.NotAfter }

// NotBefore returns the start of the leaf's validity.
func (b *Bundle) NotBefore() time.Time { return b.Leaf.NotBefore }

// HasServerAuthEKU reports whether the leaf's extended key usage explicitly
// lists TLS server authentication (id-kp-serverAuth), alone or with other
// usages. A leaf without an EKU extension, or with only anyExtendedKeyUsage,
// does not count: spec §2 checks chains of certificates "that have the
// server-authentication EKU", so those are left unchecked.
func (b *Bundle) HasServerAuthEKU() bool {
	return slices.Contains(b.Leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
}

// Root returns the self-signed root at the end of the chain, or nil when
// the secret does not include it.
func (b *Bundle) Root() *x509.Certificate {
	if n := len(b.Chain); n > 0 && selfSigned(b.Chain[n-1]) {
		return b.Chain[n-1]
	}
	return nil
}

// Intermediates returns the chain without its self-signed root.
func (b *Bundle) Intermediates() []*x509.Certificate {
	if b.Root() != nil {
		return b.Chain[:len(b.Chain)-1]
	}
	return b.Chain
}

// ToStore returns the bundle as the store's certificate for ref at version.
func (b *Bundle) ToStore(ref store.Ref, version string) store.Certificate {
	return store.Certificate{
		Ref:     ref,
		Version: version,
		Leaf:    b.Leaf,
		Key:     b.Key,
		Chain:   slices.Clone(b.Chain),
		PFX:     slices.Clone(b.PFX),
	}
}
