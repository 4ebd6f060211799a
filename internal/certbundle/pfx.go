package certbundle

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// decodePFX decodes a DER PKCS #12 file protected by the empty password, as
// Key Vault stores them. go-pkcs12 handles the modern (PBES2/AES, HMAC-SHA-2,
// PBMAC1) and legacy (3DES, RC2-40, HMAC-SHA-1) algorithms, files without MAC
// or encryption, and the two encodings of the empty password.
func decodePFX(der []byte) (*Bundle, error) {
	b, err := DecodePFX(der, "")
	if errors.Is(err, errWrongPassword) {
		return nil, fmt.Errorf("%w: it does not open with an empty password; Key Vault stores PFX without a password, so import the certificate into Key Vault (az keyvault certificate import --password ...) instead of storing the PFX file as a plain secret", ErrPasswordProtected)
	}
	return b, err
}

// errWrongPassword marks a PFX that does not open with the password given.
var errWrongPassword = errors.New("the PFX password is wrong")

// DecodePFX decodes a DER PKCS #12 file, such as one being imported, with
// password. A file asking for an excessive number of key-derivation
// iterations, or holding more than MaxCertificates certificates in
// unencrypted content, is refused before any work is done. Certificates in
// encrypted content are counted once go-pkcs12 decrypted and parsed them;
// the size bound on a secret value bounds that work.
func DecodePFX(der []byte, password string) (*Bundle, error) {
	if err := checkPFXIterations(der); err != nil {
		return nil, err
	}
	if n := countPlainCertBags(der); n > MaxCertificates {
		return nil, tooManyCertificates(n)
	}
	key, first, cas, err := pkcs12.DecodeChain(der, password)
	if err != nil {
		if certs, cerr := x509.ParseCertificates(der); cerr == nil && len(certs) > 0 {
			return nil, fmt.Errorf("%w: the value is %d bare DER certificate(s), not a PFX with the private key; observe the secret of a Key Vault certificate whose key is exportable", ErrNoPrivateKey, len(certs))
		}
		return nil, pfxError(err)
	}
	// DecodeChain takes the first certificate bag as the leaf, but Key
	// Vault's own PFX lists the chain root first; assemble re-derives the
	// leaf from the key.
	if n := 1 + len(cas); n > MaxCertificates {
		return nil, tooManyCertificates(n)
	}
	certs := append([]*x509.Certificate{first}, cas...)
	b, err := assemble(certs, []any{key})
	if err != nil {
		return nil, err
	}
	b.ContentType = ContentTypePKCS12
	if password == "" {
		b.PFX = slices.Clone(der)
	}
	return b, nil
}

// pfxError turns a go-pkcs12 error into one that says what to do.
func pfxError(err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword), errors.Is(err, pkcs12.ErrDecryption),
		strings.Contains(msg, "no MAC in data"):
		return fmt.Errorf("%w: %w", ErrPasswordProtected, errWrongPassword)
	case strings.Contains(msg, "private key missing"):
		return errNoKey()
	case strings.Contains(msg, "indefinite length"), strings.Contains(msg, "not DER"):
		return fmt.Errorf("%w: the PFX is BER-encoded (as Java keytool or Bouncy Castle write it), which is not supported; re-export it in DER (openssl pkcs12 -export) or store the certificate as PEM: %w", ErrMalformed, err)
	default:
		return fmt.Errorf("%w: cannot read the PFX; store a valid certificate in Key Vault: %w", ErrMalformed, err)
	}
}

// errNoKey explains why a certificate secret lacks its private key.
func errNoKey() error {
	return fmt.Errorf("%w: the certificate's key is not exportable in Key Vault, so its secret carries no private key; create the certificate with an exportable key (policy keyProperties.exportable=true) or import it with its key", ErrNoPrivateKey)
}
