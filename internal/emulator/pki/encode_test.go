package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

func TestEncodePKCS12(t *testing.T) {
	a := newAuthority(t)
	iss := issue(t, a, Request{CommonName: "pfx.example.com", KeyType: ECP256, ServerAuth: true})
	value, err := Encode(iss, ContentTypePKCS12)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	pfx, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		t.Fatalf("value is not standard base64: %v", err)
	}
	key, leaf, cas, err := pkcs12.DecodeChain(pfx, "")
	if err != nil {
		t.Fatalf("DecodeChain with empty password: %v", err)
	}
	if !leaf.Equal(iss.Leaf) || !publicKeysEqual(iss.Leaf.PublicKey, publicOf(t, key)) {
		t.Error("PFX leaf or key is not the issued one")
	}
	if err := verifyServer(leaf, cas, a.Root(), "pfx.example.com"); err != nil {
		t.Errorf("PFX chain does not verify to the root: %v", err)
	}
	if len(cas) != 2 {
		t.Errorf("PFX holds %d CA certificates, want the whole chain (2)", len(cas))
	}
}

func publicOf(t *testing.T, key any) crypto.PublicKey {
	t.Helper()
	k, ok := key.(crypto.Signer)
	if !ok {
		t.Fatalf("key %T has no public key", key)
	}
	return k.Public()
}

func TestEncodePEMOrder(t *testing.T) {
	a := newAuthority(t)
	iss := issue(t, a, Request{CommonName: "pem.example.com", KeyType: ECP256})
	value, err := Encode(iss, ContentTypePEM)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	var blocks []*pem.Block
	for rest := []byte(value); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	want := [][]byte{nil, iss.Leaf.Raw, a.Intermediate().Raw, a.Root().Raw}
	if len(blocks) != len(want) {
		t.Fatalf("PEM has %d blocks, want key, leaf, intermediate, root", len(blocks))
	}
	if blocks[0].Type != "PRIVATE KEY" {
		t.Fatalf("first block is %q, want PRIVATE KEY (PKCS#8)", blocks[0].Type)
	}
	key, err := x509.ParsePKCS8PrivateKey(blocks[0].Bytes)
	if err != nil || !publicKeysEqual(iss.Leaf.PublicKey, publicOf(t, key)) {
		t.Errorf("first block is not the leaf's PKCS#8 key (err %v)", err)
	}
	for i := 1; i < len(want); i++ {
		if blocks[i].Type != "CERTIFICATE" || !bytes.Equal(blocks[i].Bytes, want[i]) {
			t.Errorf("block %d is not the expected certificate (want leaf, intermediate, root)", i)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	iss := issue(t, newAuthority(t), Request{CommonName: "x", KeyType: ECP256})
	tests := []struct {
		name        string
		iss         *Issued
		contentType string
		want        []string
	}{
		{"unknown content type", iss, "text/plain", []string{ContentTypePKCS12, ContentTypePEM}},
		{"nil", nil, ContentTypePEM, []string{"private key"}},
		{"no key", &Issued{Leaf: iss.Leaf}, ContentTypePKCS12, []string{"private key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Encode(tt.iss, tt.contentType)
			if err == nil {
				t.Fatal("Encode succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestThumbprint(t *testing.T) {
	a := newAuthority(t)
	tp := Thumbprint(a.Root())
	if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(tp) {
		t.Fatalf("Thumbprint = %q, want 40 upper-case hex digits", tp)
	}
	if tp == Thumbprint(a.Intermediate()) {
		t.Error("root and intermediate have the same thumbprint")
	}
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed; skipping the comparison with its fingerprint")
	}
	path := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(path, a.RootPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "x509", "-in", path, "-noout", "-fingerprint", "-sha1").Output()
	if err != nil {
		t.Fatalf("openssl x509 -fingerprint: %v", err)
	}
	_, fp, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
	if want := strings.ReplaceAll(fp, ":", ""); tp != want {
		t.Errorf("Thumbprint = %s, openssl says %s", tp, want)
	}
}

// TestEncodePKCS12OpenSSL checks that OpenSSL reads the PFX with an empty
// password, as tools importing Key Vault secrets do.
func TestEncodePKCS12OpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	iss := issue(t, newAuthority(t), Request{CommonName: "ossl.example.com", KeyType: ECP256})
	value, err := Encode(iss, ContentTypePKCS12)
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cert.pfx")
	if err := os.WriteFile(path, pfx, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "pkcs12", "-in", path, "-passin", "pass:", "-nokeys").Output()
	if err != nil {
		t.Fatalf("openssl pkcs12 cannot read the PFX with an empty password: %v", err)
	}
	if got := strings.Count(string(out), "BEGIN CERTIFICATE"); got != 3 {
		t.Errorf("openssl found %d certificates, want leaf, intermediate and root", got)
	}
}
