package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIssueVerifiesAgainstRoot(t *testing.T) {
	a := newAuthority(t)
	iss := issue(t, a, Request{CommonName: "web", DNSNames: []string{"app.contoso.com", "*.apps.contoso.com"}, KeyType: ECP256, ServerAuth: true})
	if len(iss.Chain) != 2 || !iss.Chain[0].Equal(a.Intermediate()) || !iss.Chain[1].Equal(a.Root()) {
		t.Fatalf("chain = %d certs, want intermediate then root", len(iss.Chain))
	}
	for _, name := range []string{"app.contoso.com", "x.apps.contoso.com"} {
		if err := verifyServer(iss.Leaf, iss.Chain[:1], a.Root(), name); err != nil {
			t.Errorf("leaf does not verify for %s: %v", name, err)
		}
	}
	if err := verifyServer(iss.Leaf, iss.Chain[:1], a.Root(), "other.contoso.com"); err == nil {
		t.Error("leaf verifies for a name it does not carry")
	}
	if err := verifyServer(iss.Leaf, iss.Chain[:1], newAuthority(t).Root(), "app.contoso.com"); err == nil {
		t.Error("leaf verifies against another authority's root")
	}
	if !bytes.Equal(iss.Leaf.AuthorityKeyId, a.Intermediate().SubjectKeyId) || len(iss.Leaf.SubjectKeyId) == 0 {
		t.Error("leaf key identifiers are not set from the intermediate")
	}
}

func TestIssueSelfSignedDoesNotVerify(t *testing.T) {
	a := newAuthority(t)
	iss := issue(t, a, Request{CommonName: "self.example.com", KeyType: ECP256, ServerAuth: true, SelfSigned: true})
	if len(iss.Chain) != 0 {
		t.Errorf("self-signed chain has %d certs, want none", len(iss.Chain))
	}
	if !bytes.Equal(iss.Leaf.RawIssuer, iss.Leaf.RawSubject) {
		t.Error("self-signed leaf's issuer is not its subject")
	}
	// CheckSignatureFrom refuses non-CA parents, so check the signature directly.
	if err := iss.Leaf.CheckSignature(iss.Leaf.SignatureAlgorithm, iss.Leaf.RawTBSCertificate, iss.Leaf.Signature); err != nil {
		t.Errorf("self-signed leaf is not signed by its own key: %v", err)
	}
	if err := verifyServer(iss.Leaf, []*x509.Certificate{a.Intermediate()}, a.Root(), "self.example.com"); err == nil {
		t.Error("self-signed leaf verifies against the emulator root; want an unknown-authority error")
	}
}

func TestIssueFields(t *testing.T) {
	a := newAuthority(t)
	notBefore := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		req       Request
		wantAlg   x509.PublicKeyAlgorithm
		wantUsage x509.KeyUsage
		wantEKU   []x509.ExtKeyUsage
		wantCN    string
		wantDNS   []string
		wantLife  time.Duration
	}{
		{
			name:      "defaults RSA-2048 one year, CN as SAN",
			req:       Request{CommonName: "a.example.com"},
			wantAlg:   x509.RSA,
			wantUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			wantCN:    "a.example.com", wantDNS: []string{"a.example.com"},
			wantLife: 365 * 24 * time.Hour,
		},
		{
			name:      "EC with both EKUs, CN from first SAN",
			req:       Request{DNSNames: []string{"b.example.com", "c.example.com"}, KeyType: ECP384, ServerAuth: true, ClientAuth: true, NotBefore: notBefore, Validity: 48 * time.Hour},
			wantAlg:   x509.ECDSA,
			wantUsage: x509.KeyUsageDigitalSignature,
			wantEKU:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			wantCN:    "b.example.com", wantDNS: []string{"b.example.com", "c.example.com"},
			wantLife: 48 * time.Hour,
		},
		{
			name:      "CN that is not a host name gets no SAN",
			req:       Request{CommonName: "My Cert ü", KeyType: ECP256},
			wantAlg:   x509.ECDSA,
			wantUsage: x509.KeyUsageDigitalSignature,
			wantCN:    "My Cert ü",
			wantLife:  365 * 24 * time.Hour,
		},
		{
			name:      "client auth only",
			req:       Request{CommonName: "client", KeyType: "ec", ClientAuth: true},
			wantAlg:   x509.ECDSA,
			wantUsage: x509.KeyUsageDigitalSignature,
			wantEKU:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			wantCN:    "client", wantDNS: []string{"client"},
			wantLife: 365 * 24 * time.Hour,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now()
			leaf := issue(t, a, tt.req).Leaf
			if leaf.PublicKeyAlgorithm != tt.wantAlg {
				t.Errorf("key algorithm = %v, want %v", leaf.PublicKeyAlgorithm, tt.wantAlg)
			}
			if leaf.KeyUsage != tt.wantUsage {
				t.Errorf("KeyUsage = %v, want %v", leaf.KeyUsage, tt.wantUsage)
			}
			if !slices.Equal(leaf.ExtKeyUsage, tt.wantEKU) {
				t.Errorf("ExtKeyUsage = %v, want %v", leaf.ExtKeyUsage, tt.wantEKU)
			}
			if leaf.Subject.CommonName != tt.wantCN || !slices.Equal(leaf.DNSNames, tt.wantDNS) {
				t.Errorf("CN %q SANs %v, want %q %v", leaf.Subject.CommonName, leaf.DNSNames, tt.wantCN, tt.wantDNS)
			}
			if leaf.IsCA {
				t.Error("leaf is a CA")
			}
			if got := leaf.NotAfter.Sub(leaf.NotBefore); got != tt.wantLife {
				t.Errorf("validity = %s, want %s", got, tt.wantLife)
			}
			if !tt.req.NotBefore.IsZero() && !leaf.NotBefore.Equal(tt.req.NotBefore) {
				t.Errorf("NotBefore = %s, want %s", leaf.NotBefore, tt.req.NotBefore)
			}
			if tt.req.NotBefore.IsZero() && !leaf.NotBefore.Before(before) {
				t.Errorf("default NotBefore %s is not backdated before %s", leaf.NotBefore, before)
			}
		})
	}
}

func TestIssueKeyTypes(t *testing.T) {
	a := newAuthority(t)
	for _, kt := range []KeyType{RSA3072, ECP256} {
		iss := issue(t, a, Request{CommonName: "k.example.com", KeyType: kt})
		switch k := iss.Key.(type) {
		case *rsa.PrivateKey:
			if kt != RSA3072 || k.N.BitLen() != 3072 {
				t.Errorf("%s: got RSA-%d", kt, k.N.BitLen())
			}
		case *ecdsa.PrivateKey:
			if kt != ECP256 || k.Curve.Params().Name != "P-256" {
				t.Errorf("%s: got EC %s", kt, k.Curve.Params().Name)
			}
		default:
			t.Errorf("%s: key is %T", kt, iss.Key)
		}
		if !publicKeysEqual(iss.Key.Public(), iss.Leaf.PublicKey) {
			t.Errorf("%s: key does not match the leaf", kt)
		}
	}
}

func TestIssueRejectsBadRequests(t *testing.T) {
	a := newAuthority(t)
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"no name", Request{KeyType: ECP256}, "CommonName or DNSNames"},
		{"unknown key type", Request{CommonName: "x", KeyType: "DSA-1024"}, "DSA-1024"},
		{"negative validity", Request{CommonName: "x", KeyType: ECP256, Validity: -time.Hour}, "negative validity"},
		{"outlives the CA", Request{CommonName: "x", KeyType: ECP256, Validity: 20 * 365 * 24 * time.Hour}, "shorter validity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Issue(tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Issue: err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestParseKeyType(t *testing.T) {
	tests := []struct {
		in      string
		want    KeyType
		wantErr bool
	}{
		{"RSA-2048", RSA2048, false},
		{"rsa-3072", RSA3072, false},
		{"Rsa-4096", RSA4096, false},
		{"ec-p256", ECP256, false},
		{"EC-P384", ECP384, false},
		{"RSA", RSA2048, false},
		{" ec ", ECP256, false},
		{"", "", true},
		{"RSA-1024", "", true},
		{"EC-P521", "", true},
	}
	for _, tt := range tests {
		got, err := ParseKeyType(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseKeyType(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "RSA-2048") {
			t.Errorf("ParseKeyType(%q) error %q does not list the valid names", tt.in, err)
		}
	}
}
