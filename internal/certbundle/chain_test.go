package certbundle

import (
	"crypto/x509"
	"testing"
)

func TestChainAssembly(t *testing.T) {
	p := newPKI(t, algP256, certSpec{})
	stranger := issue(t, certSpec{cn: "Unrelated Root", ca: true}, newKey(t, algP256), nil, nil)
	// A second intermediate with the same name but another key: only
	// the key identifiers and the signature tell it apart.
	sameNameKey := newKey(t, algP256)
	sameName := issue(t, certSpec{cn: p.inter.Subject.CommonName, ca: true}, sameNameKey, p.root, p.rootKey)
	selfSignedKey := newKey(t, algP256)
	selfSigned := issue(t, certSpec{cn: "self.example.test", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, selfSignedKey, nil, nil)

	tests := []struct {
		name         string
		certs        []*x509.Certificate
		key          any
		leaf         *x509.Certificate
		chain        []*x509.Certificate
		dropped      int
		root         *x509.Certificate
		intermediate int
	}{
		{"full chain", []*x509.Certificate{p.root, p.leaf, p.inter}, p.leafKey, p.leaf, p.chain(), 0, p.root, 1},
		{"duplicates removed", []*x509.Certificate{p.leaf, p.inter, p.leaf, p.root, p.inter}, p.leafKey, p.leaf, p.chain(), 0, p.root, 1},
		{"unrelated certificate dropped", []*x509.Certificate{stranger, p.leaf, p.inter, p.root}, p.leafKey, p.leaf, p.chain(), 1, p.root, 1},
		{"no root", []*x509.Certificate{p.inter, p.leaf}, p.leafKey, p.leaf, p.chain()[:1], 0, nil, 1},
		{"missing intermediate drops the root", []*x509.Certificate{p.root, p.leaf}, p.leafKey, p.leaf, nil, 1, nil, 0},
		{"same-name intermediate told apart", []*x509.Certificate{sameName, p.root, p.inter, p.leaf}, p.leafKey, p.leaf, p.chain(), 1, p.root, 1},
		{"self-signed leaf", []*x509.Certificate{selfSigned}, selfSignedKey, selfSigned, nil, 0, nil, 0},
		{"key of the intermediate", []*x509.Certificate{p.leaf, p.inter, p.root}, p.interKey, p.inter, p.chain()[1:], 1, p.root, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := assemble(tt.certs, []any{tt.key, tt.key})
			if err != nil {
				t.Fatalf("assemble: %v", err)
			}
			if !b.Leaf.Equal(tt.leaf) {
				t.Fatalf("leaf %q, want %q", b.Leaf.Subject, tt.leaf.Subject)
			}
			if len(b.Chain) != len(tt.chain) {
				t.Fatalf("chain has %d certificates, want %d", len(b.Chain), len(tt.chain))
			}
			for i := range tt.chain {
				if !b.Chain[i].Equal(tt.chain[i]) {
					t.Errorf("chain[%d] %q (SKI %x), want SKI %x", i, b.Chain[i].Subject, b.Chain[i].SubjectKeyId, tt.chain[i].SubjectKeyId)
				}
			}
			if len(b.Dropped) != tt.dropped {
				t.Errorf("Dropped = %v, want %d certificates", b.Dropped, tt.dropped)
			}
			if got := b.Root(); (got == nil) != (tt.root == nil) || (got != nil && !got.Equal(tt.root)) {
				t.Errorf("Root() = %v, want %v", got, tt.root)
			}
			if got := len(b.Intermediates()); got != tt.intermediate {
				t.Errorf("Intermediates() has %d, want %d", got, tt.intermediate)
			}
		})
	}
}
