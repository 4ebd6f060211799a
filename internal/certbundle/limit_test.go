package certbundle

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// corruptCertPEM is a CERTIFICATE block that x509 cannot parse.
const corruptCertPEM = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"

// wantTooMany asserts err refuses a secret of n certificates by the bound.
func wantTooMany(t *testing.T, err error, n string) {
	t.Helper()
	if !errors.Is(err, ErrTooManyCertificates) {
		t.Fatalf("error = %v, want ErrTooManyCertificates", err)
	}
	for _, want := range []string{"secret holds too many certificates: " + n + ", more than the 32 akvvm accepts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestThousandForgedLinksRefusedByCount: the red team's secret, a leaf and
// 999 certificates whose names chain but whose signatures do not verify,
// is refused by the count, whatever its format.
func TestThousandForgedLinksRefusedByCount(t *testing.T) {
	key := newKey(t, algP256)
	leaf := forgedLeaf(t, key)
	links := forgedLinks(t, 999)
	t.Run("PEM", func(t *testing.T) {
		_, err := Decode(pemKey(t, key, fmtPKCS8)+pemCert(leaf)+pemCerts(links), ContentTypePEM)
		wantTooMany(t, err, "1000")
	})
	t.Run("PFX without encryption", func(t *testing.T) {
		der, err := pkcs12.Passwordless.Encode(key, leaf, links, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = Decode(base64.StdEncoding.EncodeToString(der), ContentTypePKCS12)
		wantTooMany(t, err, "1000")
	})
	t.Run("PFX with encrypted certificates", func(t *testing.T) {
		der, err := pkcs12.Modern2023.Encode(key, leaf, links, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = Decode(base64.StdEncoding.EncodeToString(der), ContentTypePKCS12)
		wantTooMany(t, err, "1000")
	})
}

// TestCountStopsParsing: the certificates are counted before they are
// parsed, so a corrupt certificate beyond the bound is never reached.
func TestCountStopsParsing(t *testing.T) {
	key := newKey(t, algP256)
	leaf := forgedLeaf(t, key)
	links := forgedLinks(t, MaxCertificates)
	t.Run("PEM", func(t *testing.T) {
		_, err := Decode(pemKey(t, key, fmtPKCS8)+pemCert(leaf)+pemCerts(links)+corruptCertPEM, ContentTypePEM)
		wantTooMany(t, err, "34")
	})
	t.Run("PFX without encryption", func(t *testing.T) {
		corrupt := &x509.Certificate{Raw: []byte{0x30, 0x03, 0x02, 0x01, 0x01}}
		der, err := pkcs12.Passwordless.Encode(key, leaf, append(links, corrupt), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = Decode(base64.StdEncoding.EncodeToString(der), ContentTypePKCS12)
		wantTooMany(t, err, "34")
	})
}

// TestCertificateBoundIsInclusive: MaxCertificates certificates decode.
func TestCertificateBoundIsInclusive(t *testing.T) {
	p := newPKI(t, algP256, certSpec{})
	extra := forgedLinks(t, MaxCertificates-3)
	certs := append([]*x509.Certificate{p.leaf, p.inter, p.root}, extra...)
	t.Run("PEM", func(t *testing.T) {
		b, err := Decode(pemKey(t, p.leafKey, fmtPKCS8)+pemCerts(certs), ContentTypePEM)
		if err != nil {
			t.Fatalf("Decode of %d certificates: %v", len(certs), err)
		}
		assertChain(t, b, p, p.chain())
	})
	t.Run("PFX", func(t *testing.T) {
		der, err := pkcs12.Modern2023.Encode(p.leafKey, p.leaf, certs[1:], "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := Decode(base64.StdEncoding.EncodeToString(der), ContentTypePKCS12)
		if err != nil {
			t.Fatalf("Decode of %d certificates: %v", len(certs), err)
		}
		assertChain(t, b, p, p.chain())
	})
}

// TestCountPlainCertBags counts what is readable without the password.
func TestCountPlainCertBags(t *testing.T) {
	p := newPKI(t, algP256, certSpec{})
	plain, err := pkcs12.Passwordless.Encode(p.leafKey, p.leaf, p.chain(), "")
	if err != nil {
		t.Fatal(err)
	}
	encrypted, err := pkcs12.Modern2023.Encode(p.leafKey, p.leaf, p.chain(), "")
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		der  []byte
		want int
	}{
		"plain":     {plain, 3},
		"encrypted": {encrypted, 0},
		"not DER":   {[]byte("hello"), 0},
		"empty":     {nil, 0},
	} {
		if got := countPlainCertBags(tt.der); got != tt.want {
			t.Errorf("%s: countPlainCertBags = %d, want %d", name, got, tt.want)
		}
	}
}
