package emulator

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/akvvm/akvvm/internal/emulator/pki"
)

// decodedCert is what a client takes out of a certificate-backed secret.
type decodedCert struct {
	key   crypto.PrivateKey
	leaf  *x509.Certificate
	chain []*x509.Certificate
}

// decodeSecretValue decodes a PFX (go-pkcs12) or PEM (encoding/pem) value.
func decodeSecretValue(t *testing.T, value, contentType string) decodedCert {
	t.Helper()
	var d decodedCert
	switch contentType {
	case pki.ContentTypePKCS12:
		pfx, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			t.Fatalf("PFX value is not base64: %v", err)
		}
		if d.key, d.leaf, d.chain, err = pkcs12.DecodeChain(pfx, ""); err != nil {
			t.Fatalf("pkcs12.DecodeChain with empty password: %v", err)
		}
	case pki.ContentTypePEM:
		rest := []byte(value)
		for {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			switch b.Type {
			case "PRIVATE KEY":
				k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
				if err != nil {
					t.Fatalf("PKCS#8 key: %v", err)
				}
				d.key = k
			case "CERTIFICATE":
				c, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					t.Fatalf("certificate: %v", err)
				}
				if d.leaf == nil {
					d.leaf = c
				} else {
					d.chain = append(d.chain, c)
				}
			}
		}
	default:
		t.Fatalf("content type %q", contentType)
	}
	if d.key == nil || d.leaf == nil {
		t.Fatal("value has no key or no certificate")
	}
	return d
}

// checkCert asserts the key matches the leaf and the chain verifies to root.
func checkCert(t *testing.T, d decodedCert, root *x509.Certificate, dnsName string) {
	t.Helper()
	pub, ok := d.key.(crypto.Signer)
	if !ok {
		t.Fatal("key is not a crypto.Signer")
	}
	if eq, ok := pub.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(d.leaf.PublicKey) {
		t.Error("private key does not match the leaf")
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, c := range d.chain {
		inter.AddCert(c)
	}
	if _, err := d.leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: dnsName,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("chain does not verify to the emulator root: %v", err)
	}
}

func TestCertificates(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	c := sdkClient(t, e, "https://myvault.vault.azure.net", newCred(e, ""))
	ctx := context.Background()
	for _, tt := range []struct{ contentType, keyType string }{
		{pki.ContentTypePKCS12, "RSA-2048"},
		{pki.ContentTypePEM, "EC-P256"},
		{"pem", ""},
	} {
		t.Run(tt.contentType+"/"+tt.keyType, func(t *testing.T) {
			ref, err := e.CreateCertificate("myvault", "web", CertificateSpec{DNSNames: []string{"www.example.com"}, KeyType: tt.keyType,
				Validity: Duration(30 * 24 * time.Hour), ContentType: tt.contentType})
			if err != nil {
				t.Fatalf("CreateCertificate: %v", err)
			}
			s, err := c.GetSecret(ctx, "web", "", nil)
			if err != nil {
				t.Fatalf("GetSecret: %v", err)
			}
			if s.ID.Version() != ref.Version || s.Managed == nil || !*s.Managed || s.KID == nil ||
				string(*s.KID) != "https://myvault.vault.azure.net/keys/web/"+ref.Version {
				t.Errorf("bundle: id %s managed %v kid %v", *s.ID, s.Managed, s.KID)
			}
			d := decodeSecretValue(t, *s.Value, *s.ContentType)
			checkCert(t, d, e.ca.Root(), "www.example.com")
			if pki.Thumbprint(d.leaf) != ref.Thumbprint {
				t.Errorf("thumbprint %s, want %s", pki.Thumbprint(d.leaf), ref.Thumbprint)
			}
			if !s.Attributes.Expires.Equal(d.leaf.NotAfter.Truncate(time.Second)) || !s.Attributes.NotBefore.Equal(d.leaf.NotBefore.Truncate(time.Second)) {
				t.Errorf("exp/nbf %v/%v, want the certificate's %v/%v", s.Attributes.Expires, s.Attributes.NotBefore, d.leaf.NotAfter, d.leaf.NotBefore)
			}
		})
	}
}

func TestRotateAndImport(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	c := sdkClient(t, e, "https://myvault.vault.azure.net", newCred(e, ""))
	ctx := context.Background()
	first, err := e.CreateCertificate("myvault", "api", CertificateSpec{DNSNames: []string{"api.example.com"}, ContentType: "pem", KeyType: "EC-P384"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.RotateCertificate("myvault", "api")
	if err != nil {
		t.Fatalf("RotateCertificate: %v", err)
	}
	if second.Version == first.Version || second.Thumbprint == first.Thumbprint || second.ContentType != pki.ContentTypePEM {
		t.Errorf("rotation = %+v after %+v, want a new version and certificate with the same content type", second, first)
	}
	latest, err := c.GetSecret(ctx, "api", "", nil)
	if err != nil || latest.ID.Version() != second.Version {
		t.Fatalf("latest after rotation = %v, %v", latest.ID, err)
	}
	d := decodeSecretValue(t, *latest.Value, *latest.ContentType)
	checkCert(t, d, e.ca.Root(), "api.example.com")
	if d.leaf.DNSNames[0] != "api.example.com" {
		t.Errorf("rotated SANs = %v", d.leaf.DNSNames)
	}
	if _, err := e.RotateCertificate("myvault", "never-created"); err == nil {
		t.Error("rotating an unknown certificate succeeded")
	}

	// Import the PEM as a PFX into another name.
	imp, err := e.ImportCertificate("myvault", "imported", ImportSpec{Data: []byte(*latest.Value)})
	if err != nil {
		t.Fatalf("ImportCertificate: %v", err)
	}
	got, err := c.GetSecret(ctx, "imported", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.ContentType != pki.ContentTypePKCS12 || imp.Thumbprint != second.Thumbprint {
		t.Errorf("imported content type %s thumbprint %s", *got.ContentType, imp.Thumbprint)
	}
	checkCert(t, decodeSecretValue(t, *got.Value, *got.ContentType), e.ca.Root(), "api.example.com")
	if _, err := e.ImportCertificate("myvault", "bad", ImportSpec{Data: []byte("not a certificate")}); err == nil {
		t.Error("importing garbage succeeded")
	}

	pager := c.NewListSecretPropertiesVersionsPager("api", nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Value) != 2 {
		t.Fatalf("versions after rotation: %d, %v", len(page.Value), err)
	}
	for _, p := range page.Value {
		if p.Managed == nil || !*p.Managed {
			t.Errorf("version %s is not marked managed", p.ID.Version())
		}
	}
}

func TestCertificateInputErrors(t *testing.T) {
	e := startEmulator(t, Config{})
	mustVault(t, e, VaultSpec{Name: "myvault"})
	tests := []struct {
		name, vault, cert string
		spec              CertificateSpec
	}{
		{"missing vault", "nosuch", "c", CertificateSpec{}},
		{"bad name", "myvault", "bad_name", CertificateSpec{}},
		{"bad key type", "myvault", "c", CertificateSpec{KeyType: "DSA"}},
		{"bad content type", "myvault", "c", CertificateSpec{ContentType: "text/plain"}},
	}
	for _, tt := range tests {
		if _, err := e.CreateCertificate(tt.vault, tt.cert, tt.spec); err == nil {
			t.Errorf("%s: CreateCertificate succeeded", tt.name)
		}
	}
}
