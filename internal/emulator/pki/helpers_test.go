package pki

import (
	"crypto/x509"
	"testing"
)

// newAuthority returns an in-memory authority.
func newAuthority(t testing.TB) *Authority {
	t.Helper()
	a, err := LoadOrCreate("")
	if err != nil {
		t.Fatalf("LoadOrCreate(\"\"): %v", err)
	}
	return a
}

// issue issues a certificate or fails the test.
func issue(t testing.TB, a *Authority, req Request) *Issued {
	t.Helper()
	iss, err := a.Issue(req)
	if err != nil {
		t.Fatalf("Issue(%+v): %v", req, err)
	}
	return iss
}

// verifyServer verifies leaf for dnsName and server auth against a pool
// holding only root, with intermediates given as intermediates.
func verifyServer(leaf *x509.Certificate, intermediates []*x509.Certificate, root *x509.Certificate, dnsName string) error {
	roots := x509.NewCertPool()
	roots.AddCert(root)
	inter := x509.NewCertPool()
	for _, c := range intermediates {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		DNSName:       dnsName,
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}
