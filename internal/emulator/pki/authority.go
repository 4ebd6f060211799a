package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"time"
)

// Authority is the emulator's CA: a root and an issuing intermediate.
// It is safe for concurrent use.
type Authority struct {
	root     *x509.Certificate
	rootKey  crypto.Signer
	inter    *x509.Certificate
	interKey crypto.Signer
	now      func() time.Time
}

// LoadOrCreate loads the CA from dir, creating it on first use (dir created 0700).
// Files: root.pem, root-key.pem, intermediate.pem, intermediate-key.pem; keys are
// 0600 and every file is written atomically. An empty dir means in-memory only.
func LoadOrCreate(dir string) (*Authority, error) {
	if dir == "" {
		return create(time.Now)
	}
	return loadOrCreateDir(dir, time.Now)
}

// create makes a new root and intermediate with ECDSA P-256 keys.
func create(now func() time.Time) (*Authority, error) {
	notBefore := now().Add(-backdate)
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate root CA key: %w", err)
	}
	root, err := sign(caTemplate(rootCommonName, notBefore, rootValidity, -1), rootKey.Public(), nil, rootKey)
	if err != nil {
		return nil, err
	}
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate intermediate CA key: %w", err)
	}
	inter, err := sign(caTemplate(intermediateCommonName, notBefore, intermediateValidity, 0), interKey.Public(), root, rootKey)
	if err != nil {
		return nil, err
	}
	return &Authority{root: root, rootKey: rootKey, inter: inter, interKey: interKey, now: now}, nil
}

// Root returns the root CA certificate.
func (a *Authority) Root() *x509.Certificate { return a.root }

// Intermediate returns the issuing intermediate CA certificate.
func (a *Authority) Intermediate() *x509.Certificate { return a.inter }

// RootPEM returns the root certificate PEM (what clients trust; written by callers to a ca file).
func (a *Authority) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.root.Raw})
}

// ServerCertificate returns a TLS certificate signed by the intermediate for the
// given DNS names (wildcards allowed) and IPs. Its chain is leaf, intermediate.
func (a *Authority) ServerCertificate(dnsNames []string, ips []net.IP) (tls.Certificate, error) {
	if len(dnsNames) == 0 && len(ips) == 0 {
		return tls.Certificate{}, errors.New("pki: server certificate needs at least one DNS name or IP address")
	}
	key, err := ECP256.generate()
	if err != nil {
		return tls.Certificate{}, err
	}
	cn := ""
	if len(dnsNames) > 0 {
		cn = dnsNames[0]
	} else {
		cn = ips[0].String()
	}
	notBefore := a.now().Add(-backdate)
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: []string{organization}},
		DNSNames:              append([]string(nil), dnsNames...),
		IPAddresses:           append([]net.IP(nil), ips...),
		NotBefore:             notBefore,
		NotAfter:              a.clampToIssuer(notBefore.Add(defaultLeafValidity)),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	leaf, err := sign(tmpl, key.Public(), a.inter, a.interKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{
		Certificate: [][]byte{leaf.Raw, a.inter.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

// clampToIssuer keeps a leaf's expiry within the intermediate's validity.
func (a *Authority) clampToIssuer(notAfter time.Time) time.Time {
	if notAfter.After(a.inter.NotAfter) {
		return a.inter.NotAfter
	}
	return notAfter
}

// check verifies that the keys match the certificates and that the
// intermediate is a CA signed by the root.
func (a *Authority) check() error {
	if !a.root.IsCA || !bytes.Equal(a.root.RawIssuer, a.root.RawSubject) {
		return fmt.Errorf("%s is not a self-signed CA certificate", rootCertFile)
	}
	if err := a.root.CheckSignatureFrom(a.root); err != nil {
		return fmt.Errorf("%s is not a self-signed CA certificate: %w", rootCertFile, err)
	}
	if !publicKeysEqual(a.rootKey.Public(), a.root.PublicKey) {
		return fmt.Errorf("%s does not match %s", rootKeyFile, rootCertFile)
	}
	if !a.inter.IsCA {
		return fmt.Errorf("%s is not a CA certificate", interCertFile)
	}
	if err := a.inter.CheckSignatureFrom(a.root); err != nil {
		return fmt.Errorf("%s is not signed by %s: %w", interCertFile, rootCertFile, err)
	}
	if !publicKeysEqual(a.interKey.Public(), a.inter.PublicKey) {
		return fmt.Errorf("%s does not match %s", interKeyFile, interCertFile)
	}
	if now := a.now(); now.After(a.inter.NotAfter) || now.After(a.root.NotAfter) {
		return fmt.Errorf("the CA expired on %s", minTime(a.inter.NotAfter, a.root.NotAfter).UTC().Format(time.RFC3339))
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// publicKeysEqual reports whether two public keys are the same key.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
