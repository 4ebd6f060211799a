package certbundle

import "errors"

// Content types Key Vault uses for certificate-backed secrets.
const (
	ContentTypePKCS12 = "application/x-pkcs12"
	ContentTypePEM    = "application/x-pem-file"
)

// Errors callers can test with errors.Is. The errors Decode and VerifyChain
// return wrap one of these and add what to do about it.
var (
	// ErrNotCertificate means the secret value is neither a PKCS #12 nor a PEM certificate.
	ErrNotCertificate = errors.New("secret is not a certificate")
	// ErrPasswordProtected means the PFX needs a password; Key Vault stores PFX without one.
	ErrPasswordProtected = errors.New("PFX is password-protected")
	// ErrEncryptedKey means a PEM private key is encrypted.
	ErrEncryptedKey = errors.New("PEM private key is encrypted")
	// ErrNoPrivateKey means the secret holds certificates but no private key.
	ErrNoPrivateKey = errors.New("secret has no private key")
	// ErrKeyMismatch means the private key belongs to none of the certificates.
	ErrKeyMismatch = errors.New("private key matches no certificate")
	// ErrMalformed means the secret looks like a certificate but cannot be parsed.
	ErrMalformed = errors.New("certificate secret is malformed")
	// ErrTooManyCertificates means the secret holds more than MaxCertificates certificates.
	ErrTooManyCertificates = errors.New("secret holds too many certificates")
	// ErrChainVerification means the leaf's chain did not verify for server authentication.
	ErrChainVerification = errors.New("certificate chain verification failed")
)
