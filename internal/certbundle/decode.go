package certbundle

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"mime"
	"strings"
)

// pemMarker starts every PEM block.
const pemMarker = "-----BEGIN"

// Decode decodes a certificate secret value as Key Vault returns it.
//
// contentType is the secret's content type: ContentTypePKCS12 (the value is
// base64 text of a PFX without password) or ContentTypePEM (the value is PEM
// text). Any other or an empty content type is sniffed: PEM when the value
// contains "-----BEGIN", otherwise base64 PFX. A value that plainly is the
// other format than declared is decoded as what it is; Bundle.ContentType
// says which format was decoded.
//
// The leaf is the certificate whose public key matches the private key; the
// other certificates are ordered into the leaf's chain, each verifying the
// signature of the one before, and those not part of it are dropped and
// listed in Bundle.Dropped. A value with more than MaxCertificates
// certificates is refused with ErrTooManyCertificates.
func Decode(value string, contentType string) (*Bundle, error) {
	declared := normalizeContentType(contentType)
	looksPEM := strings.Contains(value, pemMarker)
	switch {
	case looksPEM:
		return decodePEM(value)
	case declared == ContentTypePKCS12 || declared == ContentTypePEM:
		der, err := decodeBase64(value)
		if err != nil {
			return nil, fmt.Errorf("%w: content type %s but the value is neither PEM nor base64 PFX (%v); store the certificate again with az keyvault certificate import", ErrMalformed, declared, err)
		}
		return decodePFX(der)
	default:
		der, err := decodeBase64(value)
		if err != nil || !looksLikeDER(der) {
			return nil, notCertificate(contentType)
		}
		b, err := decodePFX(der)
		if err != nil {
			return nil, fmt.Errorf("content type %q, value sniffed as base64 PFX: %w", contentType, err)
		}
		return b, nil
	}
}

func notCertificate(contentType string) error {
	if contentType == "" {
		contentType = "none"
	}
	return fmt.Errorf("%w: content type %q and the value is neither PEM nor base64 PKCS #12; observe the secret of a Key Vault certificate (supported content types: %s, %s)",
		ErrNotCertificate, contentType, ContentTypePKCS12, ContentTypePEM)
}

// normalizeContentType lower-cases a media type and drops its parameters.
func normalizeContentType(ct string) string {
	ct = strings.TrimSpace(ct)
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	return strings.ToLower(ct)
}

// decodeBase64 decodes standard or URL-safe base64, with or without padding,
// ignoring white space anywhere in the text.
func decodeBase64(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n', '\v', '\f':
			return -1
		case '-':
			return '+'
		case '_':
			return '/'
		}
		return r
	}, s)
	clean = strings.TrimRight(clean, "=")
	if clean == "" {
		return nil, fmt.Errorf("value is empty")
	}
	der, err := base64.RawStdEncoding.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %w", err)
	}
	return der, nil
}

// looksLikeDER reports whether b starts like a DER SEQUENCE, as a PFX does.
func looksLikeDER(b []byte) bool {
	return len(b) > 2 && b[0] == 0x30
}

// matches reports whether key is the private key of cert.
func matches(key crypto.PrivateKey, cert *x509.Certificate) bool {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return false
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(signer.Public())
}
