package certbundle

import (
	"crypto/sha1" //nolint:gosec // the thumbprint format under test.
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
	"software.sslmate.com/src/go-pkcs12"
)

func TestDecodeContentType(t *testing.T) {
	p := newPKI(t, algP256, certSpec{})
	der, err := pkcs12.Modern.Encode(p.leafKey, p.leaf, p.chain(), "")
	if err != nil {
		t.Fatal(err)
	}
	pfx := base64.StdEncoding.EncodeToString(der)
	pemValue := pemKey(t, p.leafKey, fmtPKCS8) + pemCert(p.leaf) + pemCert(p.inter)
	tests := []struct {
		name, value, contentType, want string
	}{
		{"PFX declared", pfx, ContentTypePKCS12, ContentTypePKCS12},
		{"PFX declared with parameter and case", pfx, "Application/X-PKCS12; charset=utf-8", ContentTypePKCS12},
		{"PFX sniffed without content type", pfx, "", ContentTypePKCS12},
		{"PFX sniffed with other content type", pfx, "application/octet-stream", ContentTypePKCS12},
		{"PEM declared", pemValue, ContentTypePEM, ContentTypePEM},
		{"PEM sniffed without content type", pemValue, "", ContentTypePEM},
		{"PEM labelled as PKCS #12", pemValue, ContentTypePKCS12, ContentTypePEM},
		{"PFX labelled as PEM", pfx, ContentTypePEM, ContentTypePKCS12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Decode(tt.value, tt.contentType)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkBundle(t, b)
			if b.ContentType != tt.want {
				t.Errorf("ContentType = %q, want %q", b.ContentType, tt.want)
			}
		})
	}
}

func TestDecodeNotCertificate(t *testing.T) {
	const secret = "hunter2-Sup3rS3cret"
	for _, ct := range []string{"", "text/plain", "application/json"} {
		t.Run(fmt.Sprintf("content type %q", ct), func(t *testing.T) {
			for _, value := range []string{secret, `{"password":"` + secret + `"}`, ""} {
				_, err := Decode(value, ct)
				if !errors.Is(err, ErrNotCertificate) {
					t.Fatalf("Decode(%d bytes) error = %v, want ErrNotCertificate", len(value), err)
				}
				msg := err.Error()
				if strings.Contains(msg, secret) {
					t.Fatal("the error repeats the secret value")
				}
				if !strings.Contains(msg, ContentTypePKCS12) || !strings.Contains(msg, ContentTypePEM) {
					t.Errorf("error %q does not list the supported content types", msg)
				}
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	uri, _ := url.Parse("spiffe://example.test/web")
	p := newPKI(t, algP256, certSpec{
		cn:     "web",
		dns:    []string{"www.example.test", "example.test"},
		ips:    []net.IP{net.ParseIP("192.0.2.7"), net.ParseIP("2001:db8::1")},
		emails: []string{"ops@example.test"},
		uris:   []*url.URL{uri},
		eku:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	b, err := assemble([]*x509.Certificate{p.leaf, p.inter, p.root}, []any{p.leafKey})
	if err != nil {
		t.Fatal(err)
	}
	hexUpper := regexp.MustCompile(`^[0-9A-F]+$`)
	sha1Sum := sha1.Sum(p.leaf.Raw) //nolint:gosec // test of the thumbprint.
	if got := b.Thumbprint(); len(got) != 40 || !hexUpper.MatchString(got) || got != fmt.Sprintf("%X", sha1Sum) {
		t.Errorf("Thumbprint() = %q, want upper-case hex SHA-1 %X", got, sha1Sum)
	}
	wantSANs := []string{"www.example.test", "example.test", "192.0.2.7", "2001:db8::1", "ops@example.test", "spiffe://example.test/web"}
	if got := b.SANs(); !slices.Equal(got, wantSANs) {
		t.Errorf("SANs() = %q, want %q", got, wantSANs)
	}
	if !b.NotAfter().Equal(p.leaf.NotAfter) || !b.NotBefore().Equal(p.leaf.NotBefore) {
		t.Errorf("validity %v–%v, want %v–%v", b.NotBefore(), b.NotAfter(), p.leaf.NotBefore, p.leaf.NotAfter)
	}
}

func TestHasServerAuthEKU(t *testing.T) {
	tests := []struct {
		name string
		eku  []x509.ExtKeyUsage
		want bool
	}{
		{"server auth", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, true},
		{"server and client auth", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}, true},
		{"client auth only", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, false},
		{"code signing only", []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, false},
		{"any usage is not explicit server auth", []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, false},
		{"no EKU extension", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKI(t, algP256, certSpec{cn: "svc", eku: tt.eku})
			b, err := assemble([]*x509.Certificate{p.leaf}, []any{p.leafKey})
			if err != nil {
				t.Fatal(err)
			}
			if got := b.HasServerAuthEKU(); got != tt.want {
				t.Errorf("HasServerAuthEKU() = %v, want %v (EKU %v)", got, tt.want, p.leaf.ExtKeyUsage)
			}
		})
	}
}

func TestToStore(t *testing.T) {
	p := newPKI(t, algP256, certSpec{})
	b, err := assemble([]*x509.Certificate{p.root, p.inter, p.leaf}, []any{p.leafKey})
	if err != nil {
		t.Fatal(err)
	}
	ref := store.Ref{Vault: "myvault", Name: "web"}
	c := b.ToStore(ref, "0123456789abcdef0123456789abcdef")
	if c.Ref != ref || c.Version != "0123456789abcdef0123456789abcdef" {
		t.Errorf("ToStore ref/version = %+v %q", c.Ref, c.Version)
	}
	if !c.Leaf.Equal(p.leaf) || !slices.EqualFunc(c.Chain, p.chain(), (*x509.Certificate).Equal) || !matches(c.Key, c.Leaf) {
		t.Error("ToStore did not carry leaf, chain and key")
	}
	c.Chain[0] = nil
	if b.Chain[0] == nil {
		t.Error("ToStore shares its chain slice with the bundle")
	}
}
