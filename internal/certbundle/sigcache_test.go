package certbundle

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// TestSignedByCachesOnlyTheSamePair checks that a cached verification is
// used only for the very same two certificates: a certificate with the
// parent's name and another key is still refused after the real parent's
// signature was verified and cached, and the cache stays bounded.
func TestSignedByCachesOnlyTheSamePair(t *testing.T) {
	mk := func(cn string, serial int64, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
		t.Helper()
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, key
	}
	root, rootKey := mk("cache root", 1, nil, nil)
	forgedRoot, _ := mk("cache root", 1, nil, nil) // same name and serial, another key
	child, _ := mk("cache child", 2, root, rootKey)
	for i := range 2 {
		if err := signedBy(child, root); err != nil {
			t.Fatalf("check %d: the real parent does not verify: %v", i, err)
		}
		if err := signedBy(child, forgedRoot); err == nil {
			t.Fatalf("check %d: a parent of the same name with another key verifies", i)
		}
	}
	for i := range maxVerified + 10 {
		c, _ := mk("filler", int64(10+i), root, rootKey)
		if err := signedBy(c, root); err != nil {
			t.Fatal(err)
		}
	}
	verified.Lock()
	n := len(verified.pairs)
	verified.Unlock()
	if n > maxVerified {
		t.Errorf("the cache holds %d pairs, more than %d", n, maxVerified)
	}
}
