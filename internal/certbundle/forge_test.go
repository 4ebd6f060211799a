package certbundle

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"testing"
)

// forge returns a certificate named cn holding holder's public key, in the
// name of issuerCN but signed by forger: only a certificate holding
// forger's key verifies it.
func forge(tb testing.TB, cn, issuerCN string, holder, forger crypto.Signer) *x509.Certificate {
	tb.Helper()
	parent := &x509.Certificate{Subject: pkix.Name{CommonName: issuerCN, Organization: []string{"akvvm test"}}}
	return issue(tb, certSpec{cn: cn, ca: true}, holder, parent, forger)
}

// forgedLinks returns n CA certificates "Forged 1" to "Forged n" whose
// names chain ("Forged i" names "Forged i+1" as issuer) but whose
// signatures do not verify, as a hostile secret lists them.
func forgedLinks(tb testing.TB, n int) []*x509.Certificate {
	tb.Helper()
	holder, forger := newKey(tb, algP256), newKey(tb, algP256)
	links := make([]*x509.Certificate, n)
	for i := range links {
		links[i] = forge(tb, fmt.Sprintf("Forged %d", i+1), fmt.Sprintf("Forged %d", i+2), holder, forger)
	}
	return links
}

// forgedLeaf returns a server-auth leaf for key in the name of "Forged 1",
// signed by a key no certificate holds.
func forgedLeaf(tb testing.TB, key crypto.Signer) *x509.Certificate {
	tb.Helper()
	parent := &x509.Certificate{Subject: pkix.Name{CommonName: "Forged 1", Organization: []string{"akvvm test"}}}
	spec := certSpec{cn: "www.example.test", dns: []string{"www.example.test"}, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	return issue(tb, spec, key, parent, newKey(tb, algP256))
}

// pemCerts returns the PEM text of certs.
func pemCerts(certs []*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		b.WriteString(pemCert(c))
	}
	return b.String()
}
