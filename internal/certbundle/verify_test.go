package certbundle

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVerifyChain(t *testing.T) {
	p := newPKI(t, algP256, certSpec{})
	clientOnly := newPKI(t, algP256, certSpec{cn: "client", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	expiring := newPKI(t, algP256, certSpec{cn: "old", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, notAfter: t0.Add(time.Hour)})

	rootsFile := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(rootsFile, []byte("# extra roots\n"+pemCert(p.root)), 0o600); err != nil {
		t.Fatal(err)
	}
	extra, err := LoadRootsFile(rootsFile)
	if err != nil {
		t.Fatalf("LoadRootsFile: %v", err)
	}
	poolOf := func(certs ...*x509.Certificate) *x509.CertPool {
		pool := x509.NewCertPool()
		for _, c := range certs {
			pool.AddCert(c)
		}
		return pool
	}
	bundle := func(p *pki) *Bundle {
		b, err := assemble([]*x509.Certificate{p.leaf, p.inter, p.root}, []any{p.leafKey})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name   string
		b      *Bundle
		opts   VerifyOptions
		reason func(error) bool
	}{
		{"trusted root", bundle(p), VerifyOptions{Roots: poolOf(p.root), Now: t0}, nil},
		{"root from the extra roots file", bundle(p), VerifyOptions{Roots: x509.NewCertPool(), ExtraRoots: extra, Now: t0}, nil},
		{"system roots plus extra roots", bundle(p), VerifyOptions{ExtraRoots: extra, Now: t0}, nil},
		{"root in the secret is not trusted by itself", bundle(p), VerifyOptions{Roots: x509.NewCertPool(), Now: t0}, isUnknownAuthority},
		{"private root unknown to the system", bundle(p), VerifyOptions{Now: t0}, isUnknownAuthority},
		{"expired leaf", bundle(expiring), VerifyOptions{Roots: poolOf(expiring.root), Now: t0.Add(2 * time.Hour)}, isInvalid(x509.Expired)},
		{"leaf without server auth", bundle(clientOnly), VerifyOptions{Roots: poolOf(clientOnly.root), Now: t0}, isInvalid(x509.IncompatibleUsage)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Roots == nil {
				if _, err := x509.SystemCertPool(); err != nil {
					t.Skipf("no system trust store on this machine: %v", err)
				}
			}
			err := tt.b.VerifyChain(tt.opts)
			if tt.reason == nil {
				if err != nil {
					t.Fatalf("VerifyChain: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrChainVerification) || !tt.reason(err) {
				t.Fatalf("VerifyChain error = %v, want chain verification failure with the x509 reason", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.b.Thumbprint()) || !strings.Contains(msg, tt.b.Leaf.Subject.CommonName) {
				t.Errorf("error %q does not name the leaf subject and thumbprint", msg)
			}
		})
	}
}

func isUnknownAuthority(err error) bool {
	var ua x509.UnknownAuthorityError
	return errors.As(err, &ua)
}

func isInvalid(reason x509.InvalidReason) func(error) bool {
	return func(err error) bool {
		var inv x509.CertificateInvalidError
		return errors.As(err, &inv) && inv.Reason == reason
	}
}

func TestVerifyChainDoesNotChangeRoots(t *testing.T) {
	p := newPKI(t, algP256, certSpec{})
	b, err := assemble([]*x509.Certificate{p.leaf, p.inter}, []any{p.leafKey})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if err := b.VerifyChain(VerifyOptions{Roots: roots, ExtraRoots: []*x509.Certificate{p.root}, Now: t0}); err != nil {
		t.Fatalf("VerifyChain with extra root: %v", err)
	}
	if err := b.VerifyChain(VerifyOptions{Roots: roots, Now: t0}); !isUnknownAuthority(err) {
		t.Fatalf("the extra root leaked into the caller's pool: %v", err)
	}
}

func TestLoadRootsFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := map[string]string{
		"missing file":        filepath.Join(dir, "absent.pem"),
		"empty file":          write("empty.pem", ""),
		"no certificates":     write("key.pem", pemKey(t, newKey(t, algP256), fmtPKCS8)),
		"corrupt certificate": write("bad.pem", "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"),
	}
	for name, path := range tests {
		t.Run(name, func(t *testing.T) {
			if roots, err := LoadRootsFile(path); err == nil {
				t.Fatalf("LoadRootsFile = %d roots, want an error", len(roots))
			}
		})
	}
}
