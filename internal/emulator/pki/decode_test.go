package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// sameIssued fails the test unless got holds want's leaf, key and chain.
func sameIssued(t *testing.T, got, want *Issued) {
	t.Helper()
	if !got.Leaf.Equal(want.Leaf) {
		t.Errorf("leaf %q, want %q", got.Leaf.Subject.CommonName, want.Leaf.Subject.CommonName)
	}
	eq, ok := got.Key.(interface{ Equal(crypto.PrivateKey) bool })
	if !ok || !eq.Equal(want.Key) {
		t.Errorf("decoded private key (%T) differs from the original", got.Key)
	}
	if len(got.Chain) != len(want.Chain) {
		t.Fatalf("chain has %d certs, want %d", len(got.Chain), len(want.Chain))
	}
	for i := range want.Chain {
		if !got.Chain[i].Equal(want.Chain[i]) {
			t.Errorf("chain[%d] = %q, want %q", i, got.Chain[i].Subject.CommonName, want.Chain[i].Subject.CommonName)
		}
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	a := newAuthority(t)
	for _, kt := range KeyTypes() {
		iss := issue(t, a, Request{CommonName: "rt.example.com", KeyType: kt, ServerAuth: true})
		for _, ct := range []string{ContentTypePKCS12, ContentTypePEM} {
			t.Run(string(kt)+" "+ct, func(t *testing.T) {
				value, err := Encode(iss, ct)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				got, err := Decode([]byte(value), "")
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				sameIssued(t, got, iss)
			})
		}
	}
	self := issue(t, a, Request{CommonName: "self", KeyType: ECP256, SelfSigned: true})
	value, err := Encode(self, ContentTypePEM)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode([]byte(value), "")
	if err != nil {
		t.Fatalf("Decode self-signed: %v", err)
	}
	sameIssued(t, got, self)
}

// pemOf encodes blocks of DER as PEM with the given types.
func pemOf(blocks ...*pem.Block) []byte {
	var buf bytes.Buffer
	for _, b := range blocks {
		_ = pem.Encode(&buf, b)
	}
	return buf.Bytes()
}

func certBlock(c *x509.Certificate) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw} }

func pkcs8Block(t *testing.T, iss *Issued) *pem.Block {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(iss.Key)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

func TestDecodePEMVariants(t *testing.T) {
	a := newAuthority(t)
	rsaIss := issue(t, a, Request{CommonName: "rsa.example.com", KeyType: RSA2048})
	ecIss := issue(t, a, Request{CommonName: "ec.example.com", KeyType: ECP384})
	root, inter := certBlock(a.Root()), certBlock(a.Intermediate())
	pkcs1 := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaIss.Key.(*rsa.PrivateKey))}
	sec1DER, err := x509.MarshalECPrivateKey(ecIss.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	sec1 := &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1DER}
	tests := []struct {
		name string
		data []byte
		want *Issued
	}{
		{"shuffled root, key, leaf, intermediate", pemOf(root, pkcs8Block(t, ecIss), certBlock(ecIss.Leaf), inter), ecIss},
		{"KeyVaultForLinux order, key last", pemOf(certBlock(ecIss.Leaf), inter, root, pkcs8Block(t, ecIss)), ecIss},
		{"PKCS#1 RSA key", pemOf(inter, pkcs1, certBlock(rsaIss.Leaf), root), rsaIss},
		{"SEC1 EC key with parameters block", pemOf(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 5, 43, 129, 4, 0, 34}}, sec1, certBlock(ecIss.Leaf), root, inter), ecIss},
		{"CRLF line endings", bytes.ReplaceAll(pemOf(pkcs8Block(t, rsaIss), certBlock(rsaIss.Leaf), inter, root), []byte("\n"), []byte("\r\n")), rsaIss},
		{"text around blocks and duplicates", append(append([]byte("Bag Attributes\n\n"), pemOf(pkcs8Block(t, ecIss), certBlock(ecIss.Leaf), root, inter, root)...), "\n\n"...), ecIss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.data, "")
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			sameIssued(t, got, tt.want)
		})
	}
}

func TestDecodePFXVariants(t *testing.T) {
	a := newAuthority(t)
	iss := issue(t, a, Request{CommonName: "pfx.example.com", KeyType: ECP256})
	const password = "correct horse"
	encoders := map[string]*pkcs12.Encoder{
		"Modern2023": pkcs12.Modern2023, "Modern2026": pkcs12.Modern2026,
		"LegacyRC2": pkcs12.LegacyRC2, "LegacyDES": pkcs12.LegacyDES,
	}
	for name, enc := range encoders {
		t.Run(name, func(t *testing.T) {
			pfx, err := enc.Encode(iss.Key, iss.Leaf, iss.Chain, password)
			if err != nil {
				t.Fatal(err)
			}
			for _, form := range []struct {
				name string
				data []byte
			}{
				{"raw DER", pfx},
				{"base64 with line breaks", []byte(wrap(base64.StdEncoding.EncodeToString(pfx), 64))},
			} {
				got, err := Decode(form.data, password)
				if err != nil {
					t.Fatalf("%s with the right password: %v", form.name, err)
				}
				sameIssued(t, got, iss)
				_, err = Decode(form.data, "wrong")
				if err == nil || !strings.Contains(err.Error(), "password") {
					t.Errorf("%s with a wrong password: err = %v, want one about the password", form.name, err)
				}
				if err != nil && strings.Contains(err.Error(), password) {
					t.Errorf("error %q shows the password", err)
				}
			}
		})
	}
	t.Run("root first, as Key Vault orders generated PFX", func(t *testing.T) {
		pfx, err := pkcs12.Modern.Encode(iss.Key, a.Root(), []*x509.Certificate{a.Intermediate(), iss.Leaf}, "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(pfx, "")
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		sameIssued(t, got, iss)
	})
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\r\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestDecodeRejects(t *testing.T) {
	a := newAuthority(t)
	one := issue(t, a, Request{CommonName: "one", KeyType: ECP256})
	two := issue(t, a, Request{CommonName: "two", KeyType: ECP256})
	encrypted := &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0}}
	legacyEncrypted := &pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}}
	certOnlyPFX, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{one.Leaf}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"key matching no certificate", pemOf(pkcs8Block(t, one), certBlock(two.Leaf), certBlock(a.Intermediate())), "matches none"},
		{"no key", pemOf(certBlock(one.Leaf), certBlock(a.Root())), "no private key"},
		{"no certificate", pemOf(pkcs8Block(t, one)), "no certificate"},
		{"two keys", pemOf(pkcs8Block(t, one), pkcs8Block(t, two), certBlock(one.Leaf)), "2 different private keys"},
		{"PKCS#8 encrypted key", pemOf(encrypted, certBlock(one.Leaf)), "private key is encrypted"},
		{"legacy encrypted key", pemOf(legacyEncrypted, certBlock(one.Leaf)), "private key is encrypted"},
		{"broken certificate", pemOf(pkcs8Block(t, one), &pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 1, 2}}), "(CERTIFICATE): x509"},
		{"empty", []byte(" \n"), "empty"},
		{"bad base64", []byte("MIIabc=de"), "base64"},
		{"not a PFX", []byte{0x30, 0x03, 0x02, 0x01, 0x03, 0xff}, "PFX"},
		{"PFX without key", certOnlyPFX, "private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.data, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode: err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestDecodeRejectsCostlyPFX checks that a PFX asking for an excessive
// number of MAC iterations is refused before any key derivation runs.
func TestDecodeRejectsCostlyPFX(t *testing.T) {
	iss := issue(t, newAuthority(t), Request{CommonName: "slow", KeyType: ECP256})
	pfx, err := pkcs12.Modern.Encode(iss.Key, iss.Leaf, iss.Chain, "")
	if err != nil {
		t.Fatal(err)
	}
	var outer struct {
		Version  int
		AuthSafe asn1.RawValue
		MacData  struct {
			Mac        asn1.RawValue
			Salt       []byte
			Iterations int
		}
	}
	if rest, err := asn1.Unmarshal(pfx, &outer); err != nil || len(rest) != 0 {
		t.Fatalf("parse PFX: %v", err)
	}
	if outer.MacData.Iterations != 2048 {
		t.Fatalf("MAC iterations = %d, want go-pkcs12's 2048", outer.MacData.Iterations)
	}
	outer.MacData.Iterations = 50_000_000
	costly, err := asn1.Marshal(outer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decode(costly, "")
	if err == nil || !strings.Contains(err.Error(), "iterations") {
		t.Fatalf("Decode: err = %v, want a refusal naming the iterations", err)
	}
}
