package certbundle

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"os"
	"testing"
	"unicode/utf16"

	"github.com/akvvm/akvvm/internal/store"
	"software.sslmate.com/src/go-pkcs12"
)

// capiFixture is a PFX written by openssl pkcs12 -export -CSP "Microsoft
// Enhanced RSA and AES Cryptographic Provider" -passout pass: (AES-256,
// SHA-256 MAC), for a throwaway self-signed test key.
const capiFixture = "testdata/capi-csp.pfx"

const capiProvider = "Microsoft Enhanced RSA and AES Cryptographic Provider"

// Test-only DER shapes for building a PFX by hand.
type (
	testAttr struct {
		ID     asn1.ObjectIdentifier
		Values []asn1.RawValue `asn1:"set"`
	}
	testBag struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue
		Attrs []testAttr `asn1:"set,omitempty"`
	}
	testContentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}
	testPFX struct {
		Version  int
		AuthSafe testContentInfo
	}
)

func mustMarshal(tb testing.TB, v any) []byte {
	tb.Helper()
	der, err := asn1.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

// explicit0 wraps DER in the [0] EXPLICIT tag PKCS #12 uses for contents.
func explicit0(der []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}
}

// dataInfo is a data ContentInfo holding der as its OCTET STRING.
func dataInfo(tb testing.TB, der []byte) testContentInfo {
	return testContentInfo{ContentType: oidData, Content: explicit0(mustMarshal(tb, der))}
}

func bmp(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

// pfxWithCSP builds an unprotected PFX (no MAC) whose plain key bag carries
// the Microsoft CSP name attribute when csp is not empty.
func pfxWithCSP(tb testing.TB, p *pki, csp string) []byte {
	tb.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(p.leafKey)
	if err != nil {
		tb.Fatal(err)
	}
	keyBag := testBag{ID: oidKeyBag, Value: explicit0(key)}
	if csp != "" {
		keyBag.Attrs = []testAttr{{ID: oidMicrosoftCSPKey, Values: []asn1.RawValue{{Tag: asn1.TagBMPString, Bytes: bmp(csp)}}}}
	}
	certBag := mustMarshal(tb, struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue
	}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}, explicit0(mustMarshal(tb, p.leaf.Raw))})
	bags := []testBag{{ID: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}, Value: explicit0(certBag)}, keyBag}
	authSafe := mustMarshal(tb, []testContentInfo{dataInfo(tb, mustMarshal(tb, bags))})
	return mustMarshal(tb, testPFX{Version: 3, AuthSafe: dataInfo(tb, authSafe)})
}

func TestPFXKeyProvider(t *testing.T) {
	p := newPKI(t, algRSA, certSpec{})
	fixture, err := os.ReadFile(capiFixture)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pfx  []byte
		want string
	}{
		{"openssl -CSP (CAPI)", fixture, capiProvider},
		{"plain key bag naming a CNG provider", pfxWithCSP(t, p, "Microsoft Software Key Storage Provider"), "Microsoft Software Key Storage Provider"},
		{"plain key bag without the attribute", pfxWithCSP(t, p, ""), ""},
		{"truncated", fixture[:len(fixture)/2], ""},
		{"empty", nil, ""},
	}
	for _, enc := range pfxEncoders {
		tests = append(tests, struct {
			name string
			pfx  []byte
			want string
		}{"go-pkcs12 " + enc.name, encodePFX(t, enc.enc, p, false), ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PFXKeyProvider(tt.pfx); got != tt.want {
				t.Errorf("PFXKeyProvider = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeKeepsTheOriginalPFX(t *testing.T) {
	fixture, err := os.ReadFile(capiFixture)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(base64.StdEncoding.EncodeToString(fixture), ContentTypePKCS12)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.PFX, fixture) {
		t.Fatal("Bundle.PFX is not the secret's PFX")
	}
	c := b.ToStore(store.Ref{Vault: "v", Name: "c"}, "0123456789abcdef0123456789abcdef")
	if !bytes.Equal(c.PFX, fixture) {
		t.Fatal("ToStore did not carry the original PFX")
	}
	c.PFX[0] ^= 0xff
	if b.PFX[0] != fixture[0] {
		t.Error("ToStore shares the PFX bytes with the bundle")
	}

	p := newPKI(t, algP256, certSpec{})
	pem, err := Decode(pemKey(t, p.leafKey, fmtPKCS8)+pemCert(p.leaf), ContentTypePEM)
	if err != nil {
		t.Fatal(err)
	}
	if pem.PFX != nil {
		t.Error("a PEM secret has an original PFX")
	}
	withPassword, err := pkcs12.Modern.Encode(p.leafKey, p.leaf, nil, "secret")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := DecodePFX(withPassword, "secret"); err != nil || b.PFX != nil {
		t.Errorf("a PFX opened with a password keeps it (err %v): Windows would import it with the empty password", err)
	}
}
