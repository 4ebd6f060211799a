package certbundle

import (
	"bytes"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// FuzzDecodePEM checks that any PEM text either fails or yields a leaf
// matching the key with a chain of verified issuers and at most
// MaxCertificates certificates. The seeds include secrets at and over
// the bound.
func FuzzDecodePEM(f *testing.F) {
	p := newPKI(f, algP256, certSpec{})
	r := newPKI(f, algRSA, certSpec{})
	certs := pemCert(p.leaf) + pemCert(p.inter) + pemCert(p.root)
	// At the bound: the real chain and forged links filling it up; one
	// more certificate is over it.
	forged := pemCerts(forgedLinks(f, MaxCertificates-2))
	for _, seed := range []string{
		pemKey(f, p.leafKey, fmtPKCS8) + certs + forged[:strings.LastIndex(forged, pemMarker)],
		pemKey(f, p.leafKey, fmtPKCS8) + certs + forged,
		pemKey(f, p.leafKey, fmtPKCS8) + certs,
		certs + pemKey(f, p.leafKey, fmtSEC1),
		crlfWithNoise(pemCert(p.root) + pemKey(f, p.leafKey, fmtPKCS8) + pemCert(p.leaf)),
		pemKey(f, r.leafKey, fmtPKCS1) + pemCert(r.leaf) + pemCert(r.inter),
		certs,
		pemKey(f, r.leafKey, fmtPKCS8) + certs,
		"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
		"-----BEGIN",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		b, err := Decode(value, ContentTypePEM)
		if err != nil {
			return
		}
		checkBundle(t, b)
	})
}

// FuzzDecodePFX checks that any PFX bytes either fail or yield a leaf
// matching the key with a chain of verified issuers and at most
// MaxCertificates certificates.
func FuzzDecodePFX(f *testing.F) {
	p := newPKI(f, algP256, certSpec{})
	for _, enc := range []*pkcs12.Encoder{pkcs12.Modern2023, pkcs12.Modern2026, pkcs12.LegacyDES, pkcs12.LegacyRC2, pkcs12.Passwordless} {
		f.Add(encodePFX(f, enc, p, false))
		f.Add(encodePFX(f, enc, p, true))
	}
	// At and over the bound, unencrypted so that the count comes first.
	for _, forged := range []int{MaxCertificates - 3, MaxCertificates - 2} {
		der, err := pkcs12.Passwordless.Encode(p.leafKey, p.leaf, append(p.chain(), forgedLinks(f, forged)...), "")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	if fixture, err := os.ReadFile(capiFixture); err == nil {
		f.Add(fixture)
	}
	f.Add([]byte{0x30, 0x80, 0x02, 0x01, 0x03, 0x00, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, der []byte) {
		_ = PFXKeyProvider(der) // must not panic
		// The product allows up to maxPFXIterations key-derivation rounds,
		// seconds of work for one input; fuzzing such inputs only stalls
		// the fuzzer until its time runs out in the middle of one.
		if n, _ := maxIterations(der, 0); n > 10_000 {
			t.Skip("costly PFX")
		}
		b, err := Decode(base64.StdEncoding.EncodeToString(der), ContentTypePKCS12)
		if err != nil {
			return
		}
		checkBundle(t, b)
		if !bytes.Equal(b.PFX, der) {
			t.Fatal("Bundle.PFX is not the decoded PFX")
		}
	})
}

// FuzzParseRoots checks that the extra roots parser never panics and never
// returns an empty list without an error.
func FuzzParseRoots(f *testing.F) {
	p := newPKI(f, algP256, certSpec{})
	f.Add([]byte(pemCert(p.root) + pemCert(p.inter)))
	f.Add([]byte(crlfWithNoise(pemCert(p.root))))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		roots, err := parseRoots(data)
		if err == nil && len(roots) == 0 {
			t.Fatal("parseRoots returned no roots and no error")
		}
	})
}
