package filestore

import (
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

func TestInstallLayout(t *testing.T) {
	tests := []struct {
		name     string
		kind     keyKind
		chainLen int
		linkName string
		wantLink string
	}{
		{"ecdsa with intermediate and root", ecKey, 2, "", "exampleVault.myCertificate"},
		{"rsa with intermediate only", rsaKey, 1, "", "exampleVault.myCertificate"},
		{"ed25519 without chain, custom link", edKey, 0, "web.pem", "web.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir, _ := newTestStore(t)
			c := newCert(t, testRef, "0123456789abcdef0123456789abcdef", tt.kind, tt.chainLen)
			in := mustInstall(t, s, store.Target{Location: dir, LinkName: tt.linkName}, c)

			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o700 {
				t.Errorf("store directory mode = %v, want 0700", got)
			}
			file := filepath.Join(dir, "exampleVault.myCertificate.0123456789abcdef0123456789abcdef")
			if in.Location != file {
				t.Errorf("Location = %q, want %q", in.Location, file)
			}
			fi, err = os.Lstat(file)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Errorf("version file mode = %v, want a regular file with 0600", fi.Mode())
			}
			checkPEM(t, file, c)

			target, err := os.Readlink(filepath.Join(dir, tt.wantLink))
			if err != nil {
				t.Fatalf("link %s: %v", tt.wantLink, err)
			}
			if !filepath.IsAbs(target) || target != file {
				t.Errorf("link target = %q, want the absolute path %q", target, file)
			}
			sum := sha1.Sum(c.Leaf.Raw)
			if want := strings.ToUpper(hex.EncodeToString(sum[:])); in.Thumbprint != want {
				t.Errorf("Thumbprint = %s, want %s", in.Thumbprint, want)
			}
			if !in.NotAfter.Equal(c.Leaf.NotAfter) || !in.NotBefore.Equal(c.Leaf.NotBefore) || in.Version != c.Version || in.Ref != testRef {
				t.Errorf("Installed = %+v, does not describe the certificate", in)
			}
			listed, err := s.List(context.Background(), store.Target{Location: dir, LinkName: tt.linkName}, testRef)
			if err != nil || len(listed) != 1 || !listed[0].NotBefore.Equal(c.Leaf.NotBefore) {
				t.Errorf("List = %+v, %v; want the recorded notBefore %s", listed, err, c.Leaf.NotBefore)
			}
			fi, err = os.Lstat(filepath.Join(dir, recordsDirName))
			if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
				t.Fatalf("records directory: mode %v, err %v; want a directory with 0700", fi.Mode(), err)
			}
			fi, err = os.Lstat(filepath.Join(dir, recordsDirName, recordFileName(testRef)))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("record file: mode %v, err %v; want 0600", fi.Mode(), err)
			}
		})
	}
}

// checkPEM parses the version file back: certificates leaf then chain, then
// the PKCS #8 key matching the leaf, and nothing else.
func checkPEM(t *testing.T, path string, c store.Certificate) {
	t.Helper()
	rest, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wantCerts := append([]*x509.Certificate{c.Leaf}, c.Chain...)
	var blocks []*pem.Block
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(strings.TrimSpace(string(rest))) != 0 || len(blocks) != len(wantCerts)+1 {
		t.Fatalf("file has %d PEM blocks and %d trailing bytes, want %d blocks", len(blocks), len(rest), len(wantCerts)+1)
	}
	for i, want := range wantCerts {
		if blocks[i].Type != "CERTIFICATE" || string(blocks[i].Bytes) != string(want.Raw) {
			t.Errorf("block %d: type %s, want certificate %q", i, blocks[i].Type, want.Subject.CommonName)
		}
	}
	last := blocks[len(blocks)-1]
	if last.Type != "PRIVATE KEY" {
		t.Fatalf("last block type = %s, want PRIVATE KEY", last.Type)
	}
	key, err := x509.ParsePKCS8PrivateKey(last.Bytes)
	if err != nil {
		t.Fatalf("key is not PKCS #8: %v", err)
	}
	pub := c.Leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !pub.Equal(key.(crypto.Signer).Public()) {
		t.Error("private key in the file does not match the leaf")
	}
}

func TestInstallLogsWithoutKeyMaterial(t *testing.T) {
	s, dir, logs := newTestStore(t)
	c := newCert(t, testRef, "v1", ecKey, 1)
	in := mustInstall(t, s, store.Target{Location: dir}, c)
	mustInstall(t, s, store.Target{Location: dir}, c)

	out := logs.String()
	if n := strings.Count(out, `"msg":"installed certificate version"`); n != 1 {
		t.Errorf("got %d install log lines for one new version, want 1", n)
	}
	if !strings.Contains(out, in.Thumbprint) || !strings.Contains(out, "exampleVault.myCertificate.v1") {
		t.Error("install log line lacks the file name or thumbprint")
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, base64.StdEncoding.EncodeToString(der)[:40]) {
		t.Error("logs contain private key material")
	}
}

func TestExistingDirectoryKeepsMode(t *testing.T) {
	tests := []struct {
		name     string
		mode     os.FileMode
		wantWarn bool
	}{
		{"private", 0o700, false},
		{"group readable", 0o750, false},
		{"world writable", 0o777, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir, logs := newTestStore(t)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			mustInstall(t, s, store.Target{Location: dir}, newCert(t, testRef, "v1", ecKey, 0))
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.mode {
				t.Errorf("mode = %v, want it left at %v", fi.Mode().Perm(), tt.mode)
			}
			if got := strings.Contains(logs.String(), `"level":"WARN"`); got != tt.wantWarn {
				t.Errorf("warning logged = %v, want %v", got, tt.wantWarn)
			}
		})
	}
}

func TestInstallRejectsBadInput(t *testing.T) {
	good := newCert(t, testRef, "v1", ecKey, 0)
	other := newCert(t, testRef, "v1", ecKey, 0)
	mismatched := good
	mismatched.Key = other.Key
	noLeaf := good
	noLeaf.Leaf = nil
	badVault := good
	badVault.Ref = store.Ref{Vault: "../etc", Name: "x"}
	badVersion := good
	badVersion.Version = "v1/../../x"

	tests := []struct {
		name   string
		target func(dir string) store.Target
		cert   store.Certificate
		want   string
	}{
		{"empty location", func(string) store.Target { return store.Target{} }, good, "empty"},
		{"relative location", func(string) store.Target { return store.Target{Location: "certs"} }, good, "relative"},
		{"link with slash", func(d string) store.Target { return store.Target{Location: d, LinkName: "../x"} }, good, "plain file name"},
		{"reserved link name", func(d string) store.Target { return store.Target{Location: d, LinkName: ".akvvm-records"} }, good, "reserves"},
		{"key does not match leaf", func(d string) store.Target { return store.Target{Location: d} }, mismatched, "does not match"},
		{"no leaf", func(d string) store.Target { return store.Target{Location: d} }, noLeaf, "no leaf"},
		{"bad vault name", func(d string) store.Target { return store.Target{Location: d} }, badVault, "vault name"},
		{"bad version", func(d string) store.Target { return store.Target{Location: d} }, badVersion, "version"},
		{"acl without user or group", func(d string) store.Target { return store.Target{Location: d, ACLs: []store.ACL{{}}} }, good, "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir, _ := newTestStore(t)
			_, err := s.Install(t.Context(), tt.target(dir), tt.cert)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Install error = %v, want one mentioning %q", err, tt.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("store directory was created for a rejected install (stat: %v)", err)
			}
		})
	}
}
