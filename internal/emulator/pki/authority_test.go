package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreatePersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "ca")
	first, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatalf("first LoadOrCreate: %v", err)
	}
	second, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatalf("second LoadOrCreate: %v", err)
	}
	if !first.Root().Equal(second.Root()) {
		t.Error("second LoadOrCreate made a new root; want the persisted one")
	}
	if !first.Intermediate().Equal(second.Intermediate()) {
		t.Error("second LoadOrCreate made a new intermediate; want the persisted one")
	}
	if !bytes.Equal(first.RootPEM(), second.RootPEM()) {
		t.Error("RootPEM differs between loads")
	}
	// A certificate issued after reloading chains to the first root.
	iss := issue(t, second, Request{CommonName: "app.example.com", ServerAuth: true})
	if err := verifyServer(iss.Leaf, iss.Chain[:1], first.Root(), "app.example.com"); err != nil {
		t.Errorf("leaf issued by reloaded CA does not verify against the original root: %v", err)
	}

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o700 {
		t.Errorf("state dir mode = %o, want 700", got)
	}
	for _, name := range []string{rootKeyFile, interKeyFile} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode = %o, want 600", name, got)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("state dir holds %v, want exactly the four CA files (no temp files)", names)
	}
}

func TestLoadOrCreateInMemoryIsFresh(t *testing.T) {
	a, b := newAuthority(t), newAuthority(t)
	if a.Root().Equal(b.Root()) {
		t.Error("two in-memory authorities share a root; want a new CA each time")
	}
}

func TestCAProperties(t *testing.T) {
	a := newAuthority(t)
	root, inter := a.Root(), a.Intermediate()
	block, _ := pem.Decode(a.RootPEM())
	if block == nil || block.Type != "CERTIFICATE" || !bytes.Equal(block.Bytes, root.Raw) {
		t.Fatal("RootPEM is not the root certificate in a CERTIFICATE block")
	}
	tests := []struct {
		name       string
		cert       *x509.Certificate
		cn         string
		validity   time.Duration
		maxPathLen int
	}{
		{"root", root, "akvvm emulator root CA", 10 * 365 * 24 * time.Hour, -1},
		{"intermediate", inter, "akvvm emulator issuing CA", 5 * 365 * 24 * time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cert
			if c.Subject.CommonName != tt.cn {
				t.Errorf("CN = %q, want %q", c.Subject.CommonName, tt.cn)
			}
			if got := c.NotAfter.Sub(c.NotBefore); got != tt.validity {
				t.Errorf("validity = %s, want %s", got, tt.validity)
			}
			if !c.IsCA || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
				t.Errorf("IsCA=%v KeyUsage=%v, want CA with CertSign|CRLSign", c.IsCA, c.KeyUsage)
			}
			if c.MaxPathLen != tt.maxPathLen || (tt.maxPathLen == 0) != c.MaxPathLenZero {
				t.Errorf("MaxPathLen=%d zero=%v, want %d", c.MaxPathLen, c.MaxPathLenZero, tt.maxPathLen)
			}
			if c.PublicKeyAlgorithm != x509.ECDSA {
				t.Errorf("key algorithm = %v, want ECDSA", c.PublicKeyAlgorithm)
			}
			if len(c.SubjectKeyId) == 0 || len(c.AuthorityKeyId) == 0 {
				t.Error("SubjectKeyId or AuthorityKeyId missing")
			}
			if c.SerialNumber.BitLen() < 64 || c.SerialNumber.BitLen() > 128 {
				t.Errorf("serial has %d bits, want a random 128-bit number", c.SerialNumber.BitLen())
			}
		})
	}
	if err := inter.CheckSignatureFrom(root); err != nil {
		t.Errorf("intermediate is not signed by root: %v", err)
	}
	if !bytes.Equal(inter.AuthorityKeyId, root.SubjectKeyId) {
		t.Error("intermediate AuthorityKeyId != root SubjectKeyId")
	}
}

func TestLoadOrCreateRejectsBadState(t *testing.T) {
	tests := []struct {
		name     string
		damage   func(t *testing.T, dir string)
		wantFile string
	}{
		{"garbage root", writeFile(rootCertFile, "not a certificate"), rootCertFile},
		{"garbage intermediate key", writeFile(interKeyFile, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), interKeyFile},
		{"missing intermediate", removeFile(interCertFile), interCertFile},
		{"swapped keys", swapFiles(rootKeyFile, interKeyFile), rootKeyFile},
		{"foreign intermediate", foreignIntermediate, interCertFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := LoadOrCreate(dir); err != nil {
				t.Fatal(err)
			}
			tt.damage(t, dir)
			_, err := LoadOrCreate(dir)
			if err == nil {
				t.Fatal("LoadOrCreate accepted a damaged CA")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantFile) || !strings.Contains(msg, "delete the directory "+dir) {
				t.Errorf("error %q should name %s and say to delete %s", msg, tt.wantFile, dir)
			}
			if strings.Contains(msg, "PRIVATE KEY") || strings.Contains(msg, "AAAA") {
				t.Errorf("error %q shows key material", msg)
			}
		})
	}
}

func writeFile(name, content string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func removeFile(name string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

func swapFiles(a, b string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		pa, pb, tmp := filepath.Join(dir, a), filepath.Join(dir, b), filepath.Join(dir, "swap")
		for _, mv := range [][2]string{{pa, tmp}, {pb, pa}, {tmp, pb}} {
			if err := os.Rename(mv[0], mv[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// foreignIntermediate replaces the intermediate and its key with another CA's.
func foreignIntermediate(t *testing.T, dir string) {
	t.Helper()
	other := t.TempDir()
	if _, err := LoadOrCreate(other); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{interCertFile, interKeyFile} {
		data, err := os.ReadFile(filepath.Join(other, name))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(name, string(data))(t, dir)
	}
}

func TestLoadRejectsExpiredCA(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(6 * 365 * 24 * time.Hour) }
	_, err := loadOrCreateDir(dir, later)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("loading a CA past its intermediate's expiry: err = %v, want an expiry error", err)
	}
}

func TestLoadOrCreateInExistingDir(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "vaults.json")
	if err := os.WriteFile(other, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatalf("LoadOrCreate in a directory holding other files: %v", err)
	}
	b, err := LoadOrCreate(dir)
	if err != nil || !a.Root().Equal(b.Root()) {
		t.Fatalf("reload: err %v, same root %v", err, err == nil && a.Root().Equal(b.Root()))
	}
	if data, err := os.ReadFile(other); err != nil || string(data) != "{}" {
		t.Errorf("LoadOrCreate changed an unrelated file: %q, %v", data, err)
	}
}
