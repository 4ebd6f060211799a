package filestore

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/akvvm/akvvm/internal/store"
)

// encodePEM returns the file content KeyVaultForLinux writes: the leaf, the
// chain in order (intermediates, then the root if present), then the private
// key as PKCS #8 "PRIVATE KEY". It refuses a key that does not match the leaf.
func encodePEM(c store.Certificate) ([]byte, error) {
	if c.Leaf == nil {
		return nil, errors.New("certificate has no leaf: the downloaded secret must contain the certificate matching its key")
	}
	if c.Key == nil {
		return nil, errors.New("certificate has no private key: observe the secret (/secrets/ URL), which carries the key")
	}
	signer, ok := c.Key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key of type %T is not supported: use an RSA, ECDSA or Ed25519 key", c.Key)
	}
	pub, ok := c.Leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(signer.Public()) {
		return nil, errors.New("private key does not match the leaf certificate: the secret content is inconsistent, upload a matching certificate and key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key as PKCS #8 (key type %T): %w", c.Key, err)
	}
	defer clear(der)

	var buf bytes.Buffer
	blocks := make([]*pem.Block, 0, len(c.Chain)+2)
	blocks = append(blocks, &pem.Block{Type: "CERTIFICATE", Bytes: c.Leaf.Raw})
	for i, ca := range c.Chain {
		if ca == nil {
			return nil, fmt.Errorf("chain certificate %d is missing", i)
		}
		blocks = append(blocks, &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	}
	blocks = append(blocks, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for _, b := range blocks {
		if err := pem.Encode(&buf, b); err != nil {
			return nil, fmt.Errorf("encoding PEM: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// thumbprint is the upper-case hex SHA-1 of the certificate, as Windows shows it.
func thumbprint(cert *x509.Certificate) string { return store.Thumbprint(cert.Raw) }
