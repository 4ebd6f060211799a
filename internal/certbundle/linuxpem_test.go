package certbundle

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

func TestLinuxPEM(t *testing.T) {
	for _, tt := range []struct {
		alg keyAlg
		f   keyFormat
	}{{algRSA, fmtPKCS1}, {algP384, fmtSEC1}, {algEd25519, fmtPKCS8}} {
		t.Run(string(tt.alg), func(t *testing.T) {
			p := newPKI(t, tt.alg, certSpec{})
			in := crlfWithNoise(pemCert(p.root) + pemCert(p.leaf) + pemKey(t, p.leafKey, tt.f) + pemCert(p.inter))
			b, err := Decode(in, ContentTypePEM)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			out, err := b.LinuxPEM()
			if err != nil {
				t.Fatalf("LinuxPEM: %v", err)
			}
			if bytes.Contains(out, []byte("\r")) {
				t.Error("LinuxPEM output has CR line endings")
			}
			want := []*x509.Certificate{p.leaf, p.inter, p.root}
			rest := out
			for i := 0; ; i++ {
				var block *pem.Block
				block, rest = pem.Decode(rest)
				if i < len(want) {
					if block == nil || block.Type != "CERTIFICATE" || !bytes.Equal(block.Bytes, want[i].Raw) {
						t.Fatalf("block %d is not the certificate %q", i, want[i].Subject)
					}
					continue
				}
				if block == nil || block.Type != "PRIVATE KEY" {
					t.Fatalf("block %d is not a PKCS #8 PRIVATE KEY", i)
				}
				k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
				if err != nil || !matches(k, p.leaf) {
					t.Fatalf("the PKCS #8 key does not parse or match the leaf: %v", err)
				}
				if len(bytes.TrimSpace(rest)) != 0 {
					t.Fatal("data follows the private key")
				}
				break
			}
			again, err := Decode(string(out), ContentTypePEM)
			if err != nil {
				t.Fatalf("Decode(LinuxPEM): %v", err)
			}
			assertChain(t, again, p, p.chain())
		})
	}
}
