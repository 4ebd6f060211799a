package certbundle

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// decodePEM decodes concatenated PEM blocks in any order. Text between
// blocks, blank lines and CRLF line endings are allowed. Blocks other than
// certificates and private keys (such as EC PARAMETERS) are ignored.
func decodePEM(value string) (*Bundle, error) {
	rest := []byte(value)
	var (
		certs  []*x509.Certificate
		keys   []any
		blocks int
	)
	// The certificates are counted as the blocks are read, so a value
	// with thousands stops at the first one over the bound.
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		blocks++
		n := blocks
		switch block.Type {
		case certificatePEMType:
			if len(certs) == MaxCertificates {
				return nil, tooManyCertificates(max(len(certs)+1, strings.Count(value, "-----BEGIN "+certificatePEMType+"-----")))
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: PEM block %d (CERTIFICATE): %w; store a valid certificate in Key Vault", ErrMalformed, n, err)
			}
			certs = append(certs, c)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: PEM block %d (PKCS #8 PRIVATE KEY) cannot be parsed; supported keys are RSA, ECDSA and Ed25519", ErrMalformed, n)
			}
			keys = append(keys, k)
		case "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
				return nil, encryptedKey(n, block.Type)
			}
			var (
				k   any
				err error
			)
			if block.Type == "RSA PRIVATE KEY" {
				k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
			} else {
				k, err = x509.ParseECPrivateKey(block.Bytes)
			}
			if err != nil {
				return nil, fmt.Errorf("%w: PEM block %d (%s) cannot be parsed; store a valid key", ErrMalformed, n, block.Type)
			}
			keys = append(keys, k)
		case "ENCRYPTED PRIVATE KEY":
			return nil, encryptedKey(n, block.Type)
		}
	}
	if begins := strings.Count(value, pemMarker); begins != blocks {
		return nil, fmt.Errorf("%w: %d PEM blocks begin but only %d decode; a block is truncated or corrupt", ErrMalformed, begins, blocks)
	}
	b, err := assemble(certs, keys)
	if err != nil {
		return nil, err
	}
	b.ContentType = ContentTypePEM
	return b, nil
}

func encryptedKey(n int, typ string) error {
	return fmt.Errorf("%w: PEM block %d (%s) needs a passphrase; store the key unencrypted (openssl pkey -in key.pem -out plain.pem) in Key Vault, which protects it itself", ErrEncryptedKey, n, typ)
}
