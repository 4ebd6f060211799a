package certbundle

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
)

// assemble finds the leaf for the private key among certs and orders its
// chain. Duplicate certificates and keys are removed first.
func assemble(certs []*x509.Certificate, keys []any) (*Bundle, error) {
	certs = uniqueCerts(certs)
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: the secret holds no certificate; observe the secret of a Key Vault certificate", ErrNotCertificate)
	}
	key, err := singleKey(keys)
	if err != nil {
		return nil, err
	}
	leaf := pickLeaf(certs, key)
	if leaf == nil {
		return nil, fmt.Errorf("%w: the private key matches none of the %d certificates; store the certificate together with its own key", ErrKeyMismatch, len(certs))
	}
	chain := buildChain(leaf, certs)
	return &Bundle{
		Leaf:    leaf,
		Key:     key,
		Chain:   chain,
		Dropped: len(certs) - 1 - len(chain),
	}, nil
}

// singleKey returns the one distinct private key.
func singleKey(keys []any) (crypto.PrivateKey, error) {
	var distinct []crypto.Signer
	for _, k := range keys {
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w: the private key type %T is not supported; use RSA, ECDSA or Ed25519", ErrMalformed, k)
		}
		dup := false
		for _, d := range distinct {
			if pub, ok := d.Public().(interface{ Equal(crypto.PublicKey) bool }); ok && pub.Equal(s.Public()) {
				dup = true
				break
			}
		}
		if !dup {
			distinct = append(distinct, s)
		}
	}
	switch len(distinct) {
	case 0:
		return nil, errNoKey()
	case 1:
		return distinct[0], nil
	default:
		return nil, fmt.Errorf("%w: the secret holds %d different private keys; store exactly one key, the leaf's", ErrMalformed, len(distinct))
	}
}

// uniqueCerts drops repeated certificates, keeping the first occurrence.
func uniqueCerts(certs []*x509.Certificate) []*x509.Certificate {
	out := make([]*x509.Certificate, 0, len(certs))
	for _, c := range certs {
		if c == nil {
			continue
		}
		dup := false
		for _, o := range out {
			if bytes.Equal(o.Raw, c.Raw) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, c)
		}
	}
	return out
}

// pickLeaf returns the certificate matching key. When several match (a
// renewal with the same key), an end-entity certificate beats a CA and a
// later NotBefore beats an earlier one.
func pickLeaf(certs []*x509.Certificate, key crypto.PrivateKey) *x509.Certificate {
	var best *x509.Certificate
	for _, c := range certs {
		if !matches(key, c) {
			continue
		}
		switch {
		case best == nil:
			best = c
		case best.IsCA && !c.IsCA:
			best = c
		case best.IsCA == c.IsCA && c.NotBefore.After(best.NotBefore):
			best = c
		}
	}
	return best
}

// buildChain follows issuer links from leaf through certs: the leaf's
// issuer first, a self-signed root last. It stops at a self-signed
// certificate or when no issuer is present.
func buildChain(leaf *x509.Certificate, certs []*x509.Certificate) []*x509.Certificate {
	used := map[*x509.Certificate]bool{leaf: true}
	var chain []*x509.Certificate
	for cur := leaf; !selfSigned(cur); {
		next := findIssuer(cur, certs, used)
		if next == nil {
			break
		}
		used[next] = true
		chain = append(chain, next)
		cur = next
	}
	return chain
}

// findIssuer returns the unused certificate that issued c: its subject
// must equal c's issuer and, when both are present, its subject key ID must
// equal c's authority key ID. A candidate whose signature over c verifies
// is preferred.
func findIssuer(c *x509.Certificate, certs []*x509.Certificate, used map[*x509.Certificate]bool) *x509.Certificate {
	var byName *x509.Certificate
	for _, p := range certs {
		if used[p] || !bytes.Equal(p.RawSubject, c.RawIssuer) {
			continue
		}
		if len(c.AuthorityKeyId) > 0 && len(p.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyId, p.SubjectKeyId) {
			continue
		}
		if p.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil {
			return p
		}
		if byName == nil {
			byName = p
		}
	}
	return byName
}

// selfSigned reports whether c names itself as issuer (a root).
func selfSigned(c *x509.Certificate) bool {
	if !bytes.Equal(c.RawSubject, c.RawIssuer) {
		return false
	}
	return len(c.AuthorityKeyId) == 0 || len(c.SubjectKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)
}
