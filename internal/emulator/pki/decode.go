package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// Decode parses an imported PFX (raw DER or base64 text) or PEM file (blocks
// in any order, PKCS#8, PKCS#1 or SEC1 keys, CRLF tolerated). The password
// applies to a PFX only. The leaf is the certificate whose public key matches
// the private key; Chain holds the other certificates, leaf's issuer first.
func Decode(data []byte, password string) (*Issued, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("pki: the certificate file is empty: give a PFX or PEM file")
	}
	if bytes.Contains(trimmed, []byte("-----BEGIN")) {
		return decodePEM(trimmed)
	}
	der := data
	if text, ok := base64Text(trimmed); ok {
		decoded, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return nil, fmt.Errorf("pki: the certificate looks like base64 but does not decode: give a PFX (raw or base64) or a PEM file: %w", err)
		}
		der = decoded
	}
	return decodePFX(der, password)
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

// decodePFX parses a DER PKCS#12 file.
func decodePFX(der []byte, password string) (*Issued, error) {
	if err := checkPFXIterations(der); err != nil {
		return nil, err
	}
	key, leaf, cas, err := pkcs12.DecodeChain(der, password)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, fmt.Errorf("pki: the PFX password is wrong: give the password the file was exported with (Key Vault's own PFX secrets use an empty password): %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("pki: cannot read the file as a PFX (it needs one private key and its certificate) or as PEM: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("pki: the PFX private key is a %T, which cannot sign: use an RSA or ECDSA key", key)
	}
	return assemble(signer, append([]*x509.Certificate{leaf}, cas...))
}

// decodePEM parses PEM blocks in any order.
func decodePEM(data []byte) (*Issued, error) {
	rest := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	var (
		key   crypto.Signer
		certs []*x509.Certificate
	)
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch {
		case block.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("pki: PEM block %d (CERTIFICATE) is not a valid certificate: %w", n, err)
			}
			certs = append(certs, c)
		case block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED"):
			return nil, fmt.Errorf("pki: PEM block %d holds an encrypted private key, which is not supported: decrypt it first (openssl pkey -in KEY.pem -out PLAIN.pem)", n)
		case strings.HasSuffix(block.Type, "PRIVATE KEY"):
			if key != nil {
				return nil, fmt.Errorf("pki: PEM block %d is a second private key: give one key with its certificates", n)
			}
			k, err := parseKeyBlock(block)
			if err != nil {
				return nil, fmt.Errorf("pki: PEM block %d (%s): %w", n, block.Type, err)
			}
			key = k
		}
	}
	return assemble(key, certs)
}

// parseKeyBlock parses a PKCS#8, PKCS#1 or SEC1 private key PEM block.
func parseKeyBlock(block *pem.Block) (crypto.Signer, error) {
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unsupported key type %q: use PRIVATE KEY (PKCS#8), RSA PRIVATE KEY or EC PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("the private key is a %T, which cannot sign: use an RSA or ECDSA key", key)
	}
	return signer, nil
}

// assemble finds the leaf matching key among certs and orders the rest as
// its chain.
func assemble(key crypto.Signer, certs []*x509.Certificate) (*Issued, error) {
	if key == nil {
		return nil, errors.New("pki: the file has no private key: export the certificate with its private key")
	}
	if len(certs) == 0 {
		return nil, errors.New("pki: the file has no certificate: include the certificate issued for the private key")
	}
	var leaf *x509.Certificate
	for _, c := range certs {
		if publicKeysEqual(key.Public(), c.PublicKey) {
			leaf = c
			break
		}
	}
	if leaf == nil {
		return nil, fmt.Errorf("pki: the private key matches none of the %d certificates: include the certificate issued for this key", len(certs))
	}
	var others []*x509.Certificate
	seen := map[string]bool{string(leaf.Raw): true}
	for _, c := range certs {
		if !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			others = append(others, c)
		}
	}
	return &Issued{Leaf: leaf, Key: key, Chain: orderChain(leaf, others)}, nil
}

// orderChain orders certs as leaf's issuer, its issuer and so on; certs that
// are not part of that path follow in their original order.
func orderChain(leaf *x509.Certificate, certs []*x509.Certificate) []*x509.Certificate {
	rest := append([]*x509.Certificate(nil), certs...)
	var chain []*x509.Certificate
	for cur := leaf; len(rest) > 0 && !bytes.Equal(cur.RawIssuer, cur.RawSubject); {
		i := issuerIndex(cur, rest)
		if i < 0 {
			break
		}
		cur = rest[i]
		chain = append(chain, cur)
		rest = append(rest[:i], rest[i+1:]...)
	}
	return append(chain, rest...)
}

// issuerIndex returns the index of c's issuer in candidates, preferring one
// whose key verifies c's signature, or -1.
func issuerIndex(c *x509.Certificate, candidates []*x509.Certificate) int {
	byName := -1
	for i, p := range candidates {
		if !bytes.Equal(p.RawSubject, c.RawIssuer) {
			continue
		}
		if c.CheckSignatureFrom(p) == nil {
			return i
		}
		if byName < 0 {
			byName = i
		}
	}
	return byName
}
