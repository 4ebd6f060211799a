package certbundle

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// LinuxPEM returns the file content KeyVaultForLinux writes: the leaf, the
// intermediates (each certifying the one before), the root if present, then
// the private key as PKCS #8 "PRIVATE KEY", with LF line endings.
func (b *Bundle) LinuxPEM() ([]byte, error) {
	var buf bytes.Buffer
	for _, c := range append([]*x509.Certificate{b.Leaf}, b.Chain...) {
		if err := pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
			return nil, fmt.Errorf("encode certificate as PEM: %w", err)
		}
	}
	der, err := x509.MarshalPKCS8PrivateKey(b.Key)
	if err != nil {
		return nil, fmt.Errorf("encode %T private key as PKCS #8; only RSA, ECDSA and Ed25519 keys can be written: %w", b.Key, err)
	}
	if err := pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		return nil, fmt.Errorf("encode private key as PEM: %w", err)
	}
	return buf.Bytes(), nil
}
