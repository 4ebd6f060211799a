package certbundle

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
)

// TestChainBySignatures: a link is kept only where its key verifies the
// signature of the certificate before it; the rest are dropped with the
// reason. Cycles end, and old private CAs (SHA-1, no basic constraints)
// keep their chains.
func TestChainBySignatures(t *testing.T) {
	p := newPKI(t, algP256, certSpec{})
	other := newKey(t, algP256)
	forgedInter := forge(t, p.inter.Subject.CommonName, p.root.Subject.CommonName, other, other)
	forgedRoot := issue(t, certSpec{cn: p.root.Subject.CommonName, ca: true}, other, nil, nil)

	// A and B issued each other; the leaf is A's.
	keyA, keyB := newKey(t, algP256), newKey(t, algP256)
	cycleB := issue(t, certSpec{cn: "Cycle B", ca: true}, keyB, &x509.Certificate{Subject: pkix.Name{CommonName: "Cycle A", Organization: []string{"akvvm test"}}}, keyA)
	cycleA := issue(t, certSpec{cn: "Cycle A", ca: true}, keyA, cycleB, keyB)
	cycleLeafKey := newKey(t, algP256)
	cycleLeaf := issue(t, certSpec{cn: "cycle.example.test"}, cycleLeafKey, cycleA, keyA)

	// A CA that moved to a new key, its new certificate signed by the old key.
	oldKey, newCAKey := newKey(t, algP256), newKey(t, algP256)
	oldCA := issue(t, certSpec{cn: "Rekeyed CA", ca: true}, oldKey, nil, nil)
	newCA := issue(t, certSpec{cn: "Rekeyed CA", ca: true}, newCAKey, oldCA, oldKey)
	rekeyLeafKey := newKey(t, algP256)
	rekeyLeaf := issue(t, certSpec{cn: "rekey.example.test"}, rekeyLeafKey, newCA, newCAKey)

	// An old private CA: no basic constraints, SHA-1 signatures.
	oldRootKey, oldInterKey, oldLeafKey := newKey(t, algP256), newKey(t, algP256), newKey(t, algP256)
	oldRoot := issue(t, certSpec{cn: "Old Root", ca: true, sigAlg: x509.ECDSAWithSHA1}, oldRootKey, nil, nil)
	oldInter := issue(t, certSpec{cn: "Old Intermediate", ca: true, noBasicConstraints: true, sigAlg: x509.ECDSAWithSHA1}, oldInterKey, oldRoot, oldRootKey)
	oldLeaf := issue(t, certSpec{cn: "old.example.test", sigAlg: x509.ECDSAWithSHA1}, oldLeafKey, oldInter, oldInterKey)

	tests := []struct {
		name    string
		certs   []*x509.Certificate
		key     any
		chain   []*x509.Certificate
		dropped map[*x509.Certificate]string // certificate → part of the reason
	}{
		{"forged intermediate beside the real one", []*x509.Certificate{forgedInter, p.leaf, p.inter, p.root}, p.leafKey, p.chain(),
			map[*x509.Certificate]string{forgedInter: `named as the issuer of "CN=www.example.test,O=akvvm test"`}},
		{"forged intermediate alone", []*x509.Certificate{p.leaf, forgedInter, p.root}, p.leafKey, nil,
			map[*x509.Certificate]string{forgedInter: "signature does not verify against its key", p.root: "not in the verified chain of the leaf"}},
		{"forged root", []*x509.Certificate{p.leaf, p.inter, forgedRoot}, p.leafKey, p.chain()[:1],
			map[*x509.Certificate]string{forgedRoot: `named as the issuer of "CN=Test Intermediate P-256,O=akvvm test"`}},
		{"forged root beside the real one", []*x509.Certificate{p.leaf, forgedRoot, p.inter, p.root}, p.leafKey, p.chain(),
			map[*x509.Certificate]string{forgedRoot: "signature does not verify"}},
		{"cycle", []*x509.Certificate{cycleLeaf, cycleB, cycleA}, cycleLeafKey, []*x509.Certificate{cycleA, cycleB}, nil},
		{"CA re-keyed under its own name", []*x509.Certificate{oldCA, newCA, rekeyLeaf}, rekeyLeafKey, []*x509.Certificate{newCA, oldCA}, nil},
		{"old CA: SHA-1, no basic constraints", []*x509.Certificate{oldLeaf, oldInter, oldRoot}, oldLeafKey, []*x509.Certificate{oldInter, oldRoot}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := assemble(tt.certs, []any{tt.key})
			if err != nil {
				t.Fatalf("assemble: %v", err)
			}
			checkBundle(t, b)
			if len(b.Chain) != len(tt.chain) {
				t.Fatalf("chain %v, want %d certificates", subjects(b.Chain), len(tt.chain))
			}
			for i := range tt.chain {
				if !b.Chain[i].Equal(tt.chain[i]) {
					t.Errorf("chain[%d] = %q, want %q", i, b.Chain[i].Subject, tt.chain[i].Subject)
				}
			}
			if len(b.Dropped) != len(tt.dropped) {
				t.Fatalf("Dropped = %v, want %d", b.Dropped, len(tt.dropped))
			}
			for _, d := range b.Dropped {
				want, ok := tt.dropped[d.Cert]
				if !ok {
					t.Errorf("%s dropped, want it kept", d)
				} else if !strings.Contains(d.Reason, want) {
					t.Errorf("reason %q, want it to say %q", d.Reason, want)
				}
			}
		})
	}
}

func subjects(certs []*x509.Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = c.Subject.String()
	}
	return out
}
