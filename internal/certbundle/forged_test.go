package certbundle

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// TestForgedLinksDropped: a secret under the bound whose extra links are
// forged installs the leaf with only its verified chain, and names every
// forged certificate and why it was left out.
func TestForgedLinksDropped(t *testing.T) {
	// Five certificates whose names chain from the leaf, none signed.
	key := newKey(t, algP256)
	leaf := forgedLeaf(t, key)
	links := forgedLinks(t, 5)

	// Five forgeries of the real intermediate beside it.
	p := newPKI(t, algP256, certSpec{})
	fakes := make([]*x509.Certificate, 5)
	for i := range fakes {
		fakes[i] = forge(t, p.inter.Subject.CommonName, p.root.Subject.CommonName, newKey(t, algP256), newKey(t, algP256))
	}
	leafName := fmt.Sprintf(`"CN=www.example.test,O=akvvm test" (serial %s)`, leaf.SerialNumber.Text(16))
	realLeafName := fmt.Sprintf(`"CN=www.example.test,O=akvvm test" (serial %s)`, p.leaf.SerialNumber.Text(16))

	tests := []struct {
		name    string
		key     crypto.Signer
		leaf    *x509.Certificate
		certs   []*x509.Certificate // after the leaf
		chain   []*x509.Certificate
		reasons []string // of Dropped, in the secret's order
	}{
		{"names chain, signatures do not", key, leaf, links, nil, []string{
			"named as the issuer of " + leafName + " but the signature does not verify against its key (",
			"not in the verified chain of the leaf " + leafName,
			"not in the verified chain of the leaf " + leafName,
			"not in the verified chain of the leaf " + leafName,
			"not in the verified chain of the leaf " + leafName,
		}},
		{"forged intermediates beside the real chain", p.leafKey, p.leaf, append(append(fakes[:3:3], p.inter), append(fakes[3:], p.root)...), p.chain(), []string{
			"named as the issuer of " + realLeafName, "named as the issuer of " + realLeafName, "named as the issuer of " + realLeafName,
			"named as the issuer of " + realLeafName, "named as the issuer of " + realLeafName,
		}},
	}
	for _, tt := range tests {
		der, err := pkcs12.Modern2023.Encode(tt.key, tt.leaf, tt.certs, "")
		if err != nil {
			t.Fatal(err)
		}
		values := map[string]string{
			ContentTypePEM:    pemKey(t, tt.key, fmtPKCS8) + pemCert(tt.leaf) + pemCerts(tt.certs),
			ContentTypePKCS12: base64.StdEncoding.EncodeToString(der),
		}
		for ct, value := range values {
			t.Run(tt.name+"/"+ct, func(t *testing.T) {
				b, err := Decode(value, ct)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				checkBundle(t, b)
				if !b.Leaf.Equal(tt.leaf) {
					t.Fatalf("leaf %q, want %q", b.Leaf.Subject, tt.leaf.Subject)
				}
				if len(b.Chain) != len(tt.chain) {
					t.Fatalf("chain %v, want %d certificates", subjects(b.Chain), len(tt.chain))
				}
				for i := range tt.chain {
					if !b.Chain[i].Equal(tt.chain[i]) {
						t.Errorf("chain[%d] = %q, want %q", i, b.Chain[i].Subject, tt.chain[i].Subject)
					}
				}
				if len(b.Dropped) != len(tt.reasons) {
					t.Fatalf("Dropped = %v, want %d", b.Dropped, len(tt.reasons))
				}
				for i, d := range b.Dropped {
					if !strings.Contains(d.Reason, tt.reasons[i]) {
						t.Errorf("Dropped[%d] reason %q, want %q", i, d.Reason, tt.reasons[i])
					}
					if want := fmt.Sprintf("(serial %s): ", d.Cert.SerialNumber.Text(16)); !strings.Contains(d.String(), want) {
						t.Errorf("Dropped[%d] = %q, want it to name the serial", i, d)
					}
				}
			})
		}
	}
}
