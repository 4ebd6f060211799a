package certbundle

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
)

// assemble finds the leaf for the private key among certs and orders its
// verified chain. Duplicate certificates and keys are removed first; the
// other certificates are reported in Bundle.Dropped.
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
	chain, dropped := buildChain(leaf, certs)
	return &Bundle{
		Leaf:    leaf,
		Key:     key,
		Chain:   chain,
		Dropped: dropped,
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

// buildChain follows verified issuer links from leaf through certs: each
// next certificate's subject is the issuer of the one before, and its key
// verifies that one's signature. The leaf's issuer comes first, a
// self-signed root last; the chain stops at a self-signed certificate or
// where no certificate verifies. Each certificate is visited once, so
// cycles end and at most len(certs)² signatures are checked. The other
// certificates are returned as dropped, with the reason.
func buildChain(leaf *x509.Certificate, certs []*x509.Certificate) ([]*x509.Certificate, []DroppedCert) {
	used := map[*x509.Certificate]bool{leaf: true}
	reasons := map[*x509.Certificate]string{}
	var chain []*x509.Certificate
	for cur := leaf; !selfSigned(cur); {
		next := findIssuer(cur, certs, used, reasons)
		if next == nil {
			break
		}
		used[next] = true
		chain = append(chain, next)
		cur = next
	}
	var dropped []DroppedCert
	for _, c := range certs {
		if used[c] {
			continue
		}
		reason, ok := reasons[c]
		if !ok {
			reason = notInChain(leaf)
		}
		dropped = append(dropped, DroppedCert{Cert: c, Reason: reason})
	}
	return chain, dropped
}

// findIssuer returns the first unused certificate that issued c: its
// subject is c's issuer and its key verifies c's signature. Every other
// candidate of that name is checked too, so that those whose key does not
// verify c's signature get that reason in reasons, unless they have one.
//
// Only the signature is checked, not whether the issuer may act as a CA
// (basic constraints, key usage) or how strong the signature algorithm is
// (SHA-1): the link proves which certificate issued the one before, which
// is what keeps forged certificates out. Whether the chain is trustworthy
// is for the 4.0 chain check (VerifyChain, x509.Verify) and for the TLS
// peers; checking it here would drop the chains of old private CAs that
// akvvm installed before.
func findIssuer(c *x509.Certificate, certs []*x509.Certificate, used map[*x509.Certificate]bool, reasons map[*x509.Certificate]string) *x509.Certificate {
	var issuer *x509.Certificate
	for _, p := range certs {
		if used[p] || !bytes.Equal(p.RawSubject, c.RawIssuer) {
			continue
		}
		err := signedBy(c, p)
		switch {
		case err == nil && issuer == nil:
			issuer = p
		case err != nil:
			if _, ok := reasons[p]; !ok {
				reasons[p] = notSigned(c, err)
			}
		}
	}
	return issuer
}

// selfSigned reports whether c is a root: it names itself as issuer and
// its own key verifies its signature. A certificate that only names itself
// (a CA's new key signed by its old one) is not.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && signedBy(c, c) == nil
}
