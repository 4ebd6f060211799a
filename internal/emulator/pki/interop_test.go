package pki

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// TestDecodeOpenSSLExport decodes PFX files made by `openssl pkcs12 -export`,
// the usual way users build a file to import into Key Vault.
func TestDecodeOpenSSLExport(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	a := newAuthority(t)
	iss := issue(t, a, Request{CommonName: "import.example.com", KeyType: RSA2048})
	value, err := Encode(iss, ContentTypePEM)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pem")
	if err := os.WriteFile(in, []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"default algorithms", nil},
		{"legacy 3DES with SHA-1 MAC", []string{"-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"}},
		{"high iteration count", []string{"-iter", "100000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "out.pfx")
			args := append([]string{"pkcs12", "-export", "-in", in, "-out", out, "-passout", "pass:imp0rt"}, tt.args...)
			if msg, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl %v: %v\n%s", args, err, msg)
			}
			pfx, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(pfx, "imp0rt")
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			sameIssued(t, got, iss)
		})
	}
}

// TestAuthorityConcurrentUse issues from several goroutines at once; run
// with -race it proves the authority needs no locking by callers.
func TestAuthorityConcurrentUse(t *testing.T) {
	a := newAuthority(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := a.Issue(Request{CommonName: "c.example.com", KeyType: ECP256})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := a.ServerCertificate([]string{"*.vault.azure.net"}, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
