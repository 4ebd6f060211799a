package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
)

// KeyType is the key of an issued certificate.
type KeyType string

// Key types the authority can issue.
const (
	RSA2048 KeyType = "RSA-2048"
	RSA3072 KeyType = "RSA-3072"
	RSA4096 KeyType = "RSA-4096"
	ECP256  KeyType = "EC-P256"
	ECP384  KeyType = "EC-P384"
)

// KeyTypes lists every supported key type.
func KeyTypes() []KeyType {
	return []KeyType{RSA2048, RSA3072, RSA4096, ECP256, ECP384}
}

// ParseKeyType parses a key type name case-insensitively.
// "RSA" means RSA-2048 and "EC" means EC-P256.
func ParseKeyType(s string) (KeyType, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	switch name {
	case "RSA":
		return RSA2048, nil
	case "EC":
		return ECP256, nil
	}
	for _, kt := range KeyTypes() {
		if name == string(kt) {
			return kt, nil
		}
	}
	return "", fmt.Errorf("pki: unknown key type %q: use one of %s, RSA or EC", s, keyTypeList())
}

func keyTypeList() string {
	names := make([]string, 0, len(KeyTypes()))
	for _, kt := range KeyTypes() {
		names = append(names, string(kt))
	}
	return strings.Join(names, ", ")
}

// isRSA reports whether kt names an RSA key.
func (kt KeyType) isRSA() bool {
	return strings.HasPrefix(string(kt), "RSA-")
}

// generate creates a new private key of type kt.
func (kt KeyType) generate() (crypto.Signer, error) {
	var (
		key crypto.Signer
		err error
	)
	switch kt {
	case RSA2048:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		key, err = rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		key, err = rsa.GenerateKey(rand.Reader, 4096)
	case ECP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECP384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	default:
		return nil, fmt.Errorf("pki: unknown key type %q: use one of %s", string(kt), keyTypeList())
	}
	if err != nil {
		return nil, fmt.Errorf("pki: generate %s key: %w", kt, err)
	}
	return key, nil
}
