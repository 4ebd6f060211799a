package certbundle

import (
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestDecodePEM(t *testing.T) {
	keyFormats := map[keyAlg][]keyFormat{
		algRSA:     {fmtPKCS8, fmtPKCS1},
		algP256:    {fmtPKCS8, fmtSEC1},
		algP384:    {fmtPKCS8, fmtSEC1},
		algEd25519: {fmtPKCS8},
	}
	orders := []struct {
		name  string
		build func(key string, p *pki) string
	}{
		{"key first, leaf to root (Key Vault)", func(k string, p *pki) string {
			return k + pemCert(p.leaf) + pemCert(p.inter) + pemCert(p.root)
		}},
		{"key last", func(k string, p *pki) string {
			return pemCert(p.leaf) + pemCert(p.inter) + pemCert(p.root) + k
		}},
		{"root to leaf, key last", func(k string, p *pki) string {
			return pemCert(p.root) + pemCert(p.inter) + pemCert(p.leaf) + k
		}},
		{"shuffled, key in the middle", func(k string, p *pki) string {
			return pemCert(p.inter) + k + pemCert(p.root) + pemCert(p.leaf)
		}},
	}
	endings := []struct {
		name string
		f    func(string) string
	}{
		{"LF", func(s string) string { return s }},
		{"CRLF with blank lines and text", crlfWithNoise},
	}
	for alg, formats := range keyFormats {
		p := newPKI(t, alg, certSpec{})
		for _, f := range formats {
			key := pemKey(t, p.leafKey, f)
			for _, o := range orders {
				for _, e := range endings {
					t.Run(string(alg)+"/"+string(f)+"/"+o.name+"/"+e.name, func(t *testing.T) {
						b, err := Decode(e.f(o.build(key, p)), ContentTypePEM)
						if err != nil {
							t.Fatalf("Decode: %v", err)
						}
						assertChain(t, b, p, p.chain())
						if b.ContentType != ContentTypePEM || len(b.Dropped) != 0 {
							t.Errorf("ContentType %q Dropped %v, want %q none", b.ContentType, b.Dropped, ContentTypePEM)
						}
					})
				}
			}
		}
	}
}

func TestDecodePEMErrors(t *testing.T) {
	p := newPKI(t, algP256, certSpec{})
	other := newPKI(t, algP256, certSpec{})
	key := pemKey(t, p.leafKey, fmtPKCS8)
	certs := pemCert(p.leaf) + pemCert(p.inter) + pemCert(p.root)
	legacyEncrypted := string(pem.EncodeToMemory(&pem.Block{
		Type:    "EC PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"},
		Bytes:   []byte("opaque ciphertext"),
	}))
	pkcs8Encrypted := string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("opaque")}))
	truncated := key + certs[:len(certs)-40]
	tests := []struct {
		name, value string
		want        error
		mention     string
	}{
		{"key of another certificate", pemKey(t, other.leafKey, fmtPKCS8) + certs, ErrKeyMismatch, "matches none of the 3 certificates"},
		{"no private key", certs, ErrNoPrivateKey, "not exportable"},
		{"two different keys", key + pemKey(t, other.leafKey, fmtSEC1) + certs, ErrMalformed, "2 different private keys"},
		{"legacy encrypted key", legacyEncrypted + certs, ErrEncryptedKey, "passphrase"},
		{"PKCS #8 encrypted key", certs + pkcs8Encrypted, ErrEncryptedKey, "passphrase"},
		{"truncated block", truncated, ErrMalformed, "truncated"},
		{"key without certificate", key, ErrNotCertificate, "no certificate"},
		{"corrupt certificate", key + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})), ErrMalformed, "CERTIFICATE"},
		{"corrupt key", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1, 2, 3}})) + certs, ErrMalformed, "RSA PRIVATE KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Decode(tt.value, ContentTypePEM)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, %v; want error %v", b, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

func TestDecodePEMIgnoresOtherBlocks(t *testing.T) {
	p := newPKI(t, algP256, certSpec{})
	// openssl ecparam -genkey writes EC PARAMETERS before the key.
	params := string(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}}))
	value := params + pemKey(t, p.leafKey, fmtSEC1) + pemCert(p.leaf) + pemCert(p.inter)
	b, err := Decode(value, ContentTypePEM)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	assertChain(t, b, p, p.chain()[:1])
}
