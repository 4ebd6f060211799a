package certbundle

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// VerifyOptions says what VerifyChain trusts and when.
type VerifyOptions struct {
	// Roots are the trusted roots; nil means the system roots.
	Roots *x509.CertPool
	// ExtraRoots are trusted in addition to Roots (see LoadRootsFile).
	ExtraRoots []*x509.Certificate
	// Now is the verification time; zero means the current time.
	Now time.Time
}

// VerifyChain verifies the leaf for TLS server authentication, using the
// bundle's intermediates. A root included in the secret is not trusted by
// itself being there: it must be in Roots or ExtraRoots. The error wraps
// ErrChainVerification and the x509 error (such as
// x509.UnknownAuthorityError or x509.CertificateInvalidError) and names the
// leaf by subject and thumbprint.
func (b *Bundle) VerifyChain(opts VerifyOptions) error {
	roots := opts.Roots
	if roots == nil {
		sys, err := x509.SystemCertPool()
		if err != nil {
			return fmt.Errorf("load the system trust store to verify %q: %w; install the ca-certificates package or give an extra roots file", b.Leaf.Subject, err)
		}
		roots = sys
	} else if len(opts.ExtraRoots) > 0 {
		roots = roots.Clone()
	}
	for _, r := range opts.ExtraRoots {
		roots.AddCert(r)
	}
	inter := x509.NewCertPool()
	for _, c := range b.Intermediates() {
		inter.AddCert(c)
	}
	_, err := b.Leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   opts.Now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("%w for %q (thumbprint %s): %w; %s", ErrChainVerification, b.Leaf.Subject, b.Thumbprint(), err, verifyHint(err))
	}
	return nil
}

// verifyHint says what to do about a verification error.
func verifyHint(err error) string {
	var ua x509.UnknownAuthorityError
	var inv x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return "trust the issuing root (system trust store or the extra roots file) and include every intermediate in the Key Vault certificate"
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		return "renew the certificate (or the expired CA) in Key Vault"
	case errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage:
		return "issue the certificate and its CAs with the server-authentication extended key usage"
	default:
		return "fix the certificate chain in Key Vault"
	}
}

// LoadRootsFile reads PEM certificates to trust as extra roots.
func LoadRootsFile(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read extra roots file: %w; check the path given with --extra-roots", err)
	}
	roots, err := parseRoots(data)
	if err != nil {
		return nil, fmt.Errorf("extra roots file %s: %w", path, err)
	}
	return roots, nil
}

// parseRoots returns the CERTIFICATE blocks of PEM data; other blocks are ignored.
func parseRoots(data []byte) ([]*x509.Certificate, error) {
	var roots []*x509.Certificate
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w; keep only valid PEM certificates in the file", n, err)
		}
		roots = append(roots, c)
	}
	if len(roots) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found; the file must hold the root certificates in PEM")
	}
	return roots, nil
}
