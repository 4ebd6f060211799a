package certbundle

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

var pfxEncoders = []struct {
	name string
	enc  *pkcs12.Encoder
}{
	{"Modern", pkcs12.Modern},
	{"Modern2023", pkcs12.Modern2023},
	{"Modern2026", pkcs12.Modern2026},
	{"LegacyDES", pkcs12.LegacyDES},
	{"LegacyRC2", pkcs12.LegacyRC2},
	{"Passwordless", pkcs12.Passwordless},
}

// encodePFX writes a PFX without password whose certificate bags follow
// order: leaf first (as openssl does) or root first (as Key Vault does).
func encodePFX(tb testing.TB, enc *pkcs12.Encoder, p *pki, rootFirst bool) []byte {
	tb.Helper()
	first, rest := p.leaf, []*x509.Certificate{p.inter, p.root}
	if rootFirst {
		first, rest = p.root, []*x509.Certificate{p.inter, p.leaf}
	}
	der, err := enc.Encode(p.leafKey, first, rest, "")
	if err != nil {
		tb.Fatalf("encode PFX: %v", err)
	}
	return der
}

func TestDecodePFX(t *testing.T) {
	for _, alg := range []keyAlg{algRSA, algP256, algP384, algEd25519} {
		p := newPKI(t, alg, certSpec{})
		for _, e := range pfxEncoders {
			for _, rootFirst := range []bool{false, true} {
				name := string(alg) + "/" + e.name + "/leaf-first"
				if rootFirst {
					name = string(alg) + "/" + e.name + "/root-first"
				}
				t.Run(name, func(t *testing.T) {
					value := base64.StdEncoding.EncodeToString(encodePFX(t, e.enc, p, rootFirst))
					b, err := Decode(value, ContentTypePKCS12)
					if err != nil {
						t.Fatalf("Decode: %v", err)
					}
					assertChain(t, b, p, p.chain())
					if b.ContentType != ContentTypePKCS12 || len(b.Dropped) != 0 {
						t.Errorf("ContentType %q Dropped %v, want %q none", b.ContentType, b.Dropped, ContentTypePKCS12)
					}
				})
			}
		}
	}
}

func TestDecodePFXBase64Variants(t *testing.T) {
	p := newPKI(t, algP256, certSpec{})
	der := encodePFX(t, pkcs12.Modern, p, true)
	std := base64.StdEncoding.EncodeToString(der)
	wrapped := func(s string, width int, eol string) string {
		var sb strings.Builder
		for len(s) > width {
			sb.WriteString(s[:width] + eol)
			s = s[width:]
		}
		return sb.String() + s + eol
	}
	tests := map[string]string{
		"standard":           std,
		"MIME lines LF":      wrapped(std, 76, "\n"),
		"64 columns CRLF":    wrapped(std, 64, "\r\n"),
		"surrounding spaces": "  " + std + " \n",
		"no padding":         base64.RawStdEncoding.EncodeToString(der),
		"URL-safe":           base64.URLEncoding.EncodeToString(der),
		"URL-safe raw":       base64.RawURLEncoding.EncodeToString(der),
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := Decode(value, ContentTypePKCS12)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			assertChain(t, b, p, p.chain())
		})
	}
}

func TestDecodePFXErrors(t *testing.T) {
	p := newPKI(t, algP256, certSpec{})
	other := newPKI(t, algP256, certSpec{})
	withPassword := func(enc *pkcs12.Encoder) string {
		der, err := enc.Encode(p.leafKey, p.leaf, p.chain(), "s3cret-pw")
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(der)
	}
	mismatched, err := pkcs12.Modern.Encode(other.leafKey, p.leaf, p.chain(), "")
	if err != nil {
		t.Fatal(err)
	}
	certsOnly, err := pkcs12.Passwordless.EncodeTrustStore([]*x509.Certificate{p.leaf, p.inter}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, value, contentType string
		want                     error
		mention                  string
	}{
		{"password Modern", withPassword(pkcs12.Modern), ContentTypePKCS12, ErrPasswordProtected, "without a password"},
		{"password LegacyDES", withPassword(pkcs12.LegacyDES), ContentTypePKCS12, ErrPasswordProtected, "without a password"},
		{"password LegacyRC2", withPassword(pkcs12.LegacyRC2), ContentTypePKCS12, ErrPasswordProtected, "without a password"},
		{"key of another certificate", base64.StdEncoding.EncodeToString(mismatched), ContentTypePKCS12, ErrKeyMismatch, "matches none of the 3 certificates"},
		{"no private key", base64.StdEncoding.EncodeToString(certsOnly), ContentTypePKCS12, ErrNoPrivateKey, "not exportable"},
		{"bare DER certificate", base64.StdEncoding.EncodeToString(p.leaf.Raw), ContentTypePKCS12, ErrNoPrivateKey, "bare DER certificate"},
		{"not base64", "this is not a certificate!", ContentTypePKCS12, ErrMalformed, ContentTypePKCS12},
		{"base64 garbage", base64.StdEncoding.EncodeToString([]byte("garbage garbage garbage")), ContentTypePKCS12, ErrMalformed, "PFX"},
		{"truncated", base64.StdEncoding.EncodeToString(mismatched[:len(mismatched)/2]), ContentTypePKCS12, ErrMalformed, "PFX"},
		{"BER indefinite length", base64.StdEncoding.EncodeToString([]byte{0x30, 0x80, 0x02, 0x01, 0x03, 0x00, 0x00}), ContentTypePKCS12, ErrMalformed, "BER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Decode(tt.value, tt.contentType)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, %v; want error %v", b, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}
