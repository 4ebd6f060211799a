package pki

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/akvvm/akvvm/internal/certbundle"
)

// Decode parses an imported PFX (raw DER or base64 text) or PEM file (blocks
// in any order, PKCS#8, PKCS#1 or SEC1 keys, CRLF tolerated) with the
// decoder the agent uses. The password applies to a PFX only. The leaf is
// the certificate whose public key matches the private key; Chain holds its
// issuers, leaf's issuer first.
func Decode(data []byte, password string) (*Issued, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("pki: the certificate file is empty: give a PFX or PEM file")
	}
	var (
		b   *certbundle.Bundle
		err error
	)
	switch text, isBase64 := base64Text(trimmed); {
	case bytes.Contains(trimmed, []byte("-----BEGIN")):
		b, err = certbundle.Decode(string(trimmed), certbundle.ContentTypePEM)
	case isBase64:
		der, derr := base64.StdEncoding.DecodeString(text)
		if derr != nil {
			return nil, fmt.Errorf("pki: the certificate looks like base64 but does not decode: give a PFX (raw or base64) or a PEM file: %w", derr)
		}
		b, err = certbundle.DecodePFX(der, password)
	default:
		b, err = certbundle.DecodePFX(data, password)
	}
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	signer, ok := b.Key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("pki: the private key is a %T, which cannot sign: use an RSA or ECDSA key", b.Key)
	}
	return &Issued{Leaf: b.Leaf, Key: signer, Chain: b.Chain}, nil
}

// base64Text returns data without white space when it consists only of
// standard base64 characters.
func base64Text(data []byte) (string, bool) {
	var b strings.Builder
	b.Grow(len(data))
	for _, c := range data {
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/', c == '=':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	return b.String(), true
}
