package certbundle

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// t0 is the fixed "now" of the test PKI; every certificate is valid at t0.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type keyAlg string

const (
	algRSA     keyAlg = "RSA"
	algP256    keyAlg = "P-256"
	algP384    keyAlg = "P-384"
	algEd25519 keyAlg = "Ed25519"
)

func newKey(tb testing.TB, alg keyAlg) crypto.Signer {
	tb.Helper()
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case algRSA:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case algP256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case algP384:
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case algEd25519:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		tb.Fatalf("unknown key algorithm %q", alg)
	}
	if err != nil {
		tb.Fatalf("generate %s key: %v", alg, err)
	}
	return k
}

// certSpec describes one test certificate.
type certSpec struct {
	cn        string
	ca        bool
	eku       []x509.ExtKeyUsage
	notBefore time.Time
	notAfter  time.Time
	dns       []string
	ips       []net.IP
	emails    []string
	uris      []*url.URL
	// sigAlg is the signature algorithm; zero means the key's default.
	sigAlg x509.SignatureAlgorithm
	// noBasicConstraints leaves out the basic constraints extension, as
	// some old private CAs do.
	noBasicConstraints bool
}

// issue creates a certificate for key signed by parent (self-signed when parent is nil).
func issue(tb testing.TB, s certSpec, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer) *x509.Certificate {
	tb.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		tb.Fatal(err)
	}
	if s.notBefore.IsZero() {
		s.notBefore = t0.Add(-24 * time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = t0.Add(365 * 24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.cn, Organization: []string{"akvvm test"}},
		NotBefore:             s.notBefore,
		NotAfter:              s.notAfter,
		ExtKeyUsage:           s.eku,
		DNSNames:              s.dns,
		IPAddresses:           s.ips,
		EmailAddresses:        s.emails,
		URIs:                  s.uris,
		BasicConstraintsValid: !s.noBasicConstraints,
		IsCA:                  s.ca && !s.noBasicConstraints,
		SignatureAlgorithm:    s.sigAlg,
	}
	if s.ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		tb.Fatalf("create certificate %s: %v", s.cn, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// pki is root → intermediate → leaf.
type pki struct {
	root, inter, leaf          *x509.Certificate
	rootKey, interKey, leafKey crypto.Signer
}

// chain returns the leaf's issuers in order.
func (p *pki) chain() []*x509.Certificate { return []*x509.Certificate{p.inter, p.root} }

// newPKI builds a P-256 root and intermediate and a server-auth leaf with a key of alg.
func newPKI(tb testing.TB, alg keyAlg, leaf certSpec) *pki {
	tb.Helper()
	p := &pki{rootKey: newKey(tb, algP256), interKey: newKey(tb, algP384), leafKey: newKey(tb, alg)}
	p.root = issue(tb, certSpec{cn: "Test Root " + string(alg), ca: true}, p.rootKey, nil, nil)
	p.inter = issue(tb, certSpec{cn: "Test Intermediate " + string(alg), ca: true}, p.interKey, p.root, p.rootKey)
	if leaf.cn == "" {
		leaf.cn = "www.example.test"
		leaf.dns = []string{"www.example.test"}
		leaf.eku = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	p.leaf = issue(tb, leaf, p.leafKey, p.inter, p.interKey)
	return p
}

func pemCert(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

type keyFormat string

const (
	fmtPKCS8 keyFormat = "PKCS#8"
	fmtPKCS1 keyFormat = "PKCS#1"
	fmtSEC1  keyFormat = "SEC1"
)

func pemKey(tb testing.TB, key crypto.Signer, f keyFormat) string {
	tb.Helper()
	var (
		block pem.Block
		err   error
	)
	switch f {
	case fmtPKCS8:
		block.Type = "PRIVATE KEY"
		block.Bytes, err = x509.MarshalPKCS8PrivateKey(key)
	case fmtPKCS1:
		block.Type = "RSA PRIVATE KEY"
		block.Bytes = x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))
	case fmtSEC1:
		block.Type = "EC PRIVATE KEY"
		block.Bytes, err = x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	}
	if err != nil {
		tb.Fatalf("marshal %s key: %v", f, err)
	}
	return string(pem.EncodeToMemory(&block))
}

// crlfWithNoise turns LF into CRLF and puts blank lines and text between blocks.
func crlfWithNoise(s string) string {
	s = strings.ReplaceAll(s, "-----\n-----BEGIN", "-----\n\nBag Attributes: friendlyName\n\n-----BEGIN")
	return "\n\n" + strings.ReplaceAll(s, "\n", "\r\n") + "\r\n\r\n"
}

// checkBundle asserts what any successfully decoded bundle must satisfy.
func checkBundle(tb testing.TB, b *Bundle) {
	tb.Helper()
	if b == nil || b.Leaf == nil {
		tb.Fatal("Decode succeeded without a leaf")
	}
	signer, ok := b.Key.(crypto.Signer)
	if !ok {
		tb.Fatalf("key type %T is not a signer", b.Key)
	}
	pub, ok := b.Leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(signer.Public()) {
		tb.Fatal("the returned key does not match the leaf")
	}
	prev := b.Leaf
	for i, c := range b.Chain {
		if string(c.RawSubject) != string(prev.RawIssuer) {
			tb.Fatalf("chain[%d] %q did not issue %q", i, c.Subject, prev.Subject)
		}
		if err := c.CheckSignature(prev.SignatureAlgorithm, prev.RawTBSCertificate, prev.Signature); err != nil {
			tb.Fatalf("chain[%d] %q did not sign %q: %v", i, c.Subject, prev.Subject, err)
		}
		prev = c
	}
	if n := 1 + len(b.Chain) + len(b.Dropped); n > MaxCertificates {
		tb.Fatalf("a bundle of %d certificates decoded, more than MaxCertificates", n)
	}
	for _, d := range b.Dropped {
		if d.Cert == nil || d.Reason == "" {
			tb.Fatalf("dropped certificate without certificate or reason: %+v", d)
		}
	}
}

// assertChain checks the leaf and that the chain is exactly chain, in order.
func assertChain(tb testing.TB, b *Bundle, p *pki, chain []*x509.Certificate) {
	tb.Helper()
	checkBundle(tb, b)
	if !b.Leaf.Equal(p.leaf) {
		tb.Fatalf("leaf = %q, want %q", b.Leaf.Subject, p.leaf.Subject)
	}
	if len(b.Chain) != len(chain) {
		tb.Fatalf("chain has %d certificates, want %d", len(b.Chain), len(chain))
	}
	for i := range chain {
		if !b.Chain[i].Equal(chain[i]) {
			tb.Fatalf("chain[%d] = %q, want %q", i, b.Chain[i].Subject, chain[i].Subject)
		}
	}
}
