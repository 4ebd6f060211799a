package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/akvvm/akvvm/internal/store"

	"software.sslmate.com/src/go-pkcs12"
)

// Content types as Key Vault names them.
const (
	ContentTypePKCS12 = "application/x-pkcs12"
	ContentTypePEM    = "application/x-pem-file"
)

// Encode returns the secret value Key Vault would store for the certificate.
// PKCS#12 is the standard base64 of a PFX with an empty password holding the
// key, the leaf and the whole chain. PEM is the PKCS#8 PRIVATE KEY block
// first, then the leaf, then the chain in order.
func Encode(iss *Issued, contentType string) (string, error) {
	if iss == nil || iss.Leaf == nil || iss.Key == nil {
		return "", errors.New("pki: encode: the certificate needs a leaf and a private key")
	}
	switch {
	case strings.EqualFold(contentType, ContentTypePKCS12):
		pfx, err := pkcs12.Modern.Encode(iss.Key, iss.Leaf, iss.Chain, "")
		if err != nil {
			return "", fmt.Errorf("pki: encode PKCS#12 for %q: %w", iss.Leaf.Subject.CommonName, err)
		}
		return base64.StdEncoding.EncodeToString(pfx), nil
	case strings.EqualFold(contentType, ContentTypePEM):
		der, err := x509.MarshalPKCS8PrivateKey(iss.Key)
		if err != nil {
			return "", fmt.Errorf("pki: encode private key of %q as PKCS#8: %w", iss.Leaf.Subject.CommonName, err)
		}
		var buf bytes.Buffer
		blocks := []*pem.Block{{Type: "PRIVATE KEY", Bytes: der}, {Type: "CERTIFICATE", Bytes: iss.Leaf.Raw}}
		for _, c := range iss.Chain {
			blocks = append(blocks, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		for _, b := range blocks {
			if err := pem.Encode(&buf, b); err != nil {
				return "", fmt.Errorf("pki: encode PEM: %w", err)
			}
		}
		return buf.String(), nil
	default:
		return "", fmt.Errorf("pki: unknown content type %q: use %s or %s", contentType, ContentTypePKCS12, ContentTypePEM)
	}
}

// Thumbprint returns the upper-case hex SHA-1 of the DER certificate.
func Thumbprint(c *x509.Certificate) string { return store.Thumbprint(c.Raw) }
