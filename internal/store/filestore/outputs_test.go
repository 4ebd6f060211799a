package filestore

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/akvvm/akvvm/internal/store"
)

// allOutputs asks for every output file, the PFX protected by passwordFile.
func allOutputs(passwordFile string) store.Outputs {
	return store.Outputs{Cert: true, Chain: true, FullChain: true, Key: true, PFX: true, PFXPasswordFile: passwordFile}
}

// writePassword writes a password file of mode 0600 and returns its path.
func writePassword(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pfx.pass")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readOutput reads a file through the outputs link, as an application would.
func readOutput(t *testing.T, dir, link, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, link+".d", name))
	if err != nil {
		t.Fatalf("reading %s through %s.d: %v", name, link, err)
	}
	return data
}

// pemCerts decodes every block of data, which must all be certificates.
func pemCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			if len(bytes.TrimSpace(rest)) > 0 {
				t.Fatalf("trailing bytes after the PEM blocks")
			}
			return out
		}
		if blk.Type != "CERTIFICATE" {
			t.Fatalf("block %q where only certificates belong", blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

// sameCerts reports whether got are the certificates want, in order.
func sameCerts(got, want []*x509.Certificate) bool {
	return slices.EqualFunc(got, want, func(a, b *x509.Certificate) bool { return a.Equal(b) })
}

// checkOutputs checks every output file of c read through the link: the
// leaf, the chain, both in order, a key matching the leaf, a PFX opening
// with password and holding the same, and the modes.
func checkOutputs(t *testing.T, dir, link string, c store.Certificate, password string) {
	t.Helper()
	if got := pemCerts(t, readOutput(t, dir, link, store.OutputCert)); !sameCerts(got, []*x509.Certificate{c.Leaf}) {
		t.Errorf("cert.pem holds %d certificates, want the leaf alone", len(got))
	}
	if got := pemCerts(t, readOutput(t, dir, link, store.OutputChain)); !sameCerts(got, c.Chain) {
		t.Errorf("chain.pem holds %d certificates, want the %d of the chain in order", len(got), len(c.Chain))
	}
	full := append([]*x509.Certificate{c.Leaf}, c.Chain...)
	if got := pemCerts(t, readOutput(t, dir, link, store.OutputFullChain)); !sameCerts(got, full) {
		t.Errorf("fullchain.pem holds %d certificates, want leaf then chain (%d)", len(got), len(full))
	}
	blk, rest := pem.Decode(readOutput(t, dir, link, store.OutputKey))
	if blk == nil || blk.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) > 0 {
		t.Fatal("key.pem is not one PKCS #8 PRIVATE KEY block")
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.(crypto.Signer).Public()) {
		t.Error("key.pem does not belong to cert.pem")
	}
	pfxKey, pfxLeaf, pfxCAs, err := pkcs12.DecodeChain(readOutput(t, dir, link, store.OutputPFX), password)
	if err != nil {
		t.Fatalf("cert.pfx does not open with the password: %v", err)
	}
	if !pfxLeaf.Equal(c.Leaf) || !sameCerts(pfxCAs, c.Chain) {
		t.Error("cert.pfx holds other certificates than the version")
	}
	if !c.Leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(pfxKey.(crypto.Signer).Public()) {
		t.Error("the key in cert.pfx does not belong to its certificate")
	}
	real, err := filepath.EvalSymlinks(filepath.Join(dir, link+".d"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(real); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("output directory mode %v (%v), want 0700", fi.Mode(), err)
	}
	for _, n := range store.OutputFiles {
		if fi, err := os.Lstat(filepath.Join(real, n)); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want a regular file with 0600", n, fi.Mode(), err)
		}
	}
}

func TestOutputFilesAreWrittenBesideTheVersionFile(t *testing.T) {
	s, dir, logs := newTestStore(t)
	pw := writePassword(t, "s3cret pass\n")
	target := store.Target{Location: dir, Outputs: allOutputs(pw)}
	c := newCert(t, testRef, "v1", rsaKey, 2)
	in := mustInstall(t, s, target, c)
	link := "exampleVault.myCertificate"
	checkOutputs(t, dir, link, c, "s3cret pass") // one trailing newline is not part of the password
	checkPEM(t, filepath.Join(dir, link), c)     // the KeyVaultForLinux file stays as it is
	text, err := os.Readlink(filepath.Join(dir, link+".d"))
	if want := filepath.Join(dir, "exampleVault.myCertificate.v1.d"); err != nil || text != want {
		t.Errorf("outputs link = %q (%v), want the absolute path %q", text, err, want)
	}
	listed, err := s.List(t.Context(), target, testRef)
	if err != nil || len(listed) != 1 || !listed[0].Current || listed[0].Version != "v1" {
		t.Fatalf("List = %+v, %v; want v1 current", listed, err)
	}
	if again := mustInstall(t, s, target, c); !again.Unchanged {
		t.Error("installing the same version again with the same outputs changed something")
	}
	if in.Location != filepath.Join(dir, "exampleVault.myCertificate.v1") {
		t.Errorf("Location = %s", in.Location)
	}
	raw, err := os.ReadFile(filepath.Join(dir, recordsDirName, recordFileName(testRef)))
	if err != nil || !bytes.Contains(raw, []byte(`"format": 3`)) {
		t.Errorf("the record of a certificate with outputs is not format 3 (%v)", err)
	}
	if strings.Contains(logs.String(), "s3cret") || bytes.Contains(raw, []byte("s3cret")) {
		t.Error("the PFX password is in the log or the record")
	}
	noTempFiles(t, dir)
}

func TestDefaultLayoutHasNoOutputs(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir}
	mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 1))
	mustInstall(t, s, target, newCert(t, testRef, "v2", ecKey, 1))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{".akvvm-records", ".akvvm.lock", "exampleVault.myCertificate", "exampleVault.myCertificate.v1", "exampleVault.myCertificate.v2"}
	if !slices.Equal(names, want) {
		t.Errorf("store directory = %q, want %q", names, want)
	}
	raw, err := os.ReadFile(filepath.Join(dir, recordsDirName, recordFileName(testRef)))
	if err != nil || !bytes.Contains(raw, []byte(`"format": 2`)) || bytes.Contains(raw, []byte("outputs")) || bytes.Contains(raw, []byte("relative")) {
		t.Errorf("the record of the default layout changed:\n%s", raw)
	}
}

// Each rotation moves both links to the new version; deleting the old
// version removes its output directory.
func TestOutputsFollowRotationAndDelete(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir, LinkName: "web", Outputs: store.Outputs{Cert: true, Key: true}}
	v1 := newCert(t, testRef, "v1", ecKey, 1)
	v2 := newCert(t, testRef, "v2", ecKey, 1)
	mustInstall(t, s, target, v1)
	mustInstall(t, s, target, v2)
	if got := pemCerts(t, readOutput(t, dir, "web", store.OutputCert)); !sameCerts(got, []*x509.Certificate{v2.Leaf}) {
		t.Error("web.d/cert.pem is not v2's leaf after the rotation")
	}
	for _, n := range []string{store.OutputChain, store.OutputFullChain, store.OutputPFX} {
		if pathExists(filepath.Join(dir, "exampleVault.myCertificate.v2.d", n)) {
			t.Errorf("%s written although not asked for", n)
		}
	}
	if !isDir(filepath.Join(dir, "exampleVault.myCertificate.v1.d")) {
		t.Fatal("the previous version's outputs are gone before the version is")
	}
	if _, err := s.Delete(t.Context(), target, testRef, []string{"v1"}); err != nil {
		t.Fatal(err)
	}
	if pathExists(filepath.Join(dir, "exampleVault.myCertificate.v1.d")) {
		t.Error("Delete left the version's output directory")
	}
	if _, err := s.MakeCurrent(t.Context(), target, testRef, "v2"); err != nil {
		t.Fatal(err)
	}
	removed, err := s.Remove(t.Context(), target, testRef)
	if err != nil || len(removed) != 1 {
		t.Fatalf("Remove = %v, %v", removed, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("Remove left %q", names)
	}
}

// Outputs asked for after a version was installed without them are made
// from the installed file, with no download: List does not present the
// version as current, and MakeCurrent writes them and moves the link.
func TestOutputsAddedLaterAreMadeFromTheInstalledFile(t *testing.T) {
	s, dir, _ := newTestStore(t)
	plain := store.Target{Location: dir}
	c := newCert(t, testRef, "v1", ecKey, 2)
	mustInstall(t, s, plain, c)
	withOutputs := store.Target{Location: dir, Outputs: allOutputs("")}
	listed, err := s.List(t.Context(), withOutputs, testRef)
	if err != nil || len(listed) != 1 || listed[0].Current {
		t.Fatalf("List = %+v, %v; want v1 listed but not current until its outputs exist", listed, err)
	}
	in, err := s.MakeCurrent(t.Context(), withOutputs, testRef, "v1")
	if err != nil || in.Unchanged {
		t.Fatalf("MakeCurrent = %+v, %v; want the outputs written, a change", in, err)
	}
	checkOutputs(t, dir, "exampleVault.myCertificate", c, "")
	if listed, err = s.List(t.Context(), withOutputs, testRef); err != nil || !listed[0].Current {
		t.Fatalf("List after MakeCurrent = %+v, %v; want v1 current", listed, err)
	}
	// Asking for fewer files removes the others in place.
	fewer := store.Target{Location: dir, Outputs: store.Outputs{FullChain: true}}
	if _, err := s.MakeCurrent(t.Context(), fewer, testRef, "v1"); err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(dir, "exampleVault.myCertificate.v1.d")
	entries, _ := os.ReadDir(d)
	if len(entries) != 1 || entries[0].Name() != store.OutputFullChain {
		t.Errorf("output directory holds %d files, want fullchain.pem alone", len(entries))
	}
	// Asking for none removes the outputs and the link: the default
	// layout and record format again.
	if listed, _ = s.List(t.Context(), plain, testRef); listed[0].Current {
		t.Fatal("with outputs left over, the plain layout is listed as current")
	}
	if _, err := s.MakeCurrent(t.Context(), plain, testRef, "v1"); err != nil {
		t.Fatal(err)
	}
	if pathExists(d) || pathExists(filepath.Join(dir, "exampleVault.myCertificate.d")) {
		t.Error("the outputs stayed after the settings dropped them")
	}
	raw, _ := os.ReadFile(filepath.Join(dir, recordsDirName, recordFileName(testRef)))
	if !bytes.Contains(raw, []byte(`"format": 2`)) {
		t.Errorf("record after dropping the outputs:\n%s", raw)
	}
}

// A changed password file writes the PFX again.
func TestChangedPasswordRewritesThePFX(t *testing.T) {
	s, dir, _ := newTestStore(t)
	pw := writePassword(t, "first")
	target := store.Target{Location: dir, Outputs: store.Outputs{PFX: true, PFXPasswordFile: pw}}
	c := newCert(t, testRef, "v1", ecKey, 1)
	mustInstall(t, s, target, c)
	if err := os.WriteFile(pw, []byte("second, longer\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listed, err := s.List(t.Context(), target, testRef)
	if err != nil || listed[0].Current {
		t.Fatalf("List = %+v, %v; want v1 not current while its PFX has the old password", listed, err)
	}
	if _, err := s.MakeCurrent(t.Context(), target, testRef, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := pkcs12.DecodeChain(readOutput(t, dir, "exampleVault.myCertificate", store.OutputPFX), "second, longer"); err != nil {
		t.Errorf("cert.pfx does not open with the new password: %v", err)
	}
}

func TestPasswordFileProblemsChangeNothing(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T) string
		problem string
	}{
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") }, "does not exist"},
		{"world-readable", func(t *testing.T) string {
			p := writePassword(t, "pw")
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, "may be read or written by every user"},
		{"a directory", func(t *testing.T) string { return t.TempDir() }, "is not a regular file"},
		{"relative", func(*testing.T) string { return "pfx.pass" }, "is relative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir, _ := newTestStore(t)
			v1 := newCert(t, testRef, "v1", ecKey, 1)
			mustInstall(t, s, store.Target{Location: dir, Outputs: store.Outputs{Cert: true}}, v1)
			before := snapshot(t, dir)
			target := store.Target{Location: dir, Outputs: store.Outputs{Cert: true, PFX: true, PFXPasswordFile: tt.setup(t)}}
			_, err := s.Install(t.Context(), target, newCert(t, testRef, "v2", ecKey, 1))
			var ne *store.NameError
			if !errors.As(err, &ne) || ne.Field != "outputs.pfx.passwordFile" || !strings.Contains(err.Error(), tt.problem) {
				t.Fatalf("Install = %v; want an outputs.pfx.passwordFile error saying %q", err, tt.problem)
			}
			assertSameSnapshot(t, before, snapshot(t, dir))
		})
	}
}

// With relative links the whole directory can move (a container mount at
// another path) and both links still resolve; absolute ones would not.
func TestRelativeLinksSurviveAMove(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir, RelativeLinks: true, Outputs: store.Outputs{Cert: true, Key: true}}
	c := newCert(t, testRef, "v1", ecKey, 1)
	mustInstall(t, s, target, c)
	for link, want := range map[string]string{"exampleVault.myCertificate": "exampleVault.myCertificate.v1", "exampleVault.myCertificate.d": "exampleVault.myCertificate.v1.d"} {
		if text, err := os.Readlink(filepath.Join(dir, link)); err != nil || text != want {
			t.Errorf("%s -> %q (%v), want %q", link, text, err, want)
		}
	}
	moved := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	checkPEM(t, filepath.Join(moved, "exampleVault.myCertificate"), c)
	if got := pemCerts(t, readOutput(t, moved, "exampleVault.myCertificate", store.OutputCert)); !sameCerts(got, []*x509.Certificate{c.Leaf}) {
		t.Error("cert.pem does not resolve after the move")
	}
	movedTarget := target
	movedTarget.Location = moved
	listed, err := s.List(t.Context(), movedTarget, testRef)
	if err != nil || len(listed) != 1 || !listed[0].Current {
		t.Fatalf("List at the new place = %+v, %v; want v1 current", listed, err)
	}
	// Turning relative links off makes the links absolute again.
	absolute := movedTarget
	absolute.RelativeLinks = false
	if listed, _ := s.List(t.Context(), absolute, testRef); listed[0].Current {
		t.Error("relative links are listed as current when absolute ones are asked for")
	}
	if _, err := s.MakeCurrent(t.Context(), absolute, testRef, "v1"); err != nil {
		t.Fatal(err)
	}
	if text, _ := os.Readlink(filepath.Join(moved, "exampleVault.myCertificate")); text != filepath.Join(moved, "exampleVault.myCertificate.v1") {
		t.Errorf("link -> %q, want the absolute path", text)
	}
}

func TestForeignOutputNamesAreRefused(t *testing.T) {
	s, dir, _ := newTestStore(t)
	target := store.Target{Location: dir, Outputs: store.Outputs{Cert: true}}
	mustInstall(t, s, store.Target{Location: dir}, newCert(t, testRef, "v1", ecKey, 0))
	if err := os.Mkdir(filepath.Join(dir, "exampleVault.myCertificate.v2.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "exampleVault.myCertificate.d"), "mine")
	before := snapshot(t, dir)
	_, err := s.Install(t.Context(), target, newCert(t, testRef, "v2", ecKey, 0))
	if err == nil || !strings.Contains(err.Error(), "move it away") {
		t.Fatalf("Install over a foreign outputs link = %v, want a refusal", err)
	}
	if err := os.Remove(filepath.Join(dir, "exampleVault.myCertificate.d")); err != nil {
		t.Fatal(err)
	}
	delete(before, "exampleVault.myCertificate.d")
	_, err = s.Install(t.Context(), target, newCert(t, testRef, "v2", ecKey, 0))
	if err == nil || !strings.Contains(err.Error(), "akvvm did not create it") {
		t.Fatalf("Install over a foreign output directory = %v, want a refusal", err)
	}
	assertSameSnapshot(t, before, snapshot(t, dir))
}

// A failure at any step of an install with outputs leaves the store as it
// was: both links on the old version, no new directory, no temp file.
func TestFailedInstallWithOutputsChangesNothing(t *testing.T) {
	for _, op := range []string{"CreateTemp", "Rename", "Symlink", "Mkdir", "SyncDir", "Write"} {
		for n := 1; n <= 8; n++ {
			t.Run(fmt.Sprintf("%s %d", op, n), func(t *testing.T) {
				s, dir, _ := newTestStore(t)
				target := store.Target{Location: dir, Outputs: allOutputs("")}
				mustInstall(t, s, target, newCert(t, testRef, "v1", ecKey, 1))
				before := snapshot(t, dir)
				beforeRec := recordsSnapshot(t, dir)
				ffs := &faultFS{op: op, n: n}
				s.fs = ffs
				_, err := s.Install(t.Context(), target, newCert(t, testRef, "v2", ecKey, 1))
				if ffs.calls[op] < n {
					if err != nil {
						t.Fatalf("without a failure: %v", err)
					}
					t.Skip("fewer calls")
				}
				if !errors.Is(err, errInjected) {
					if err == nil {
						// A failing fsync after the switch is reported by
						// the store as done; only then may it succeed.
						t.Skip("the failure hit a step after the switch")
					}
					t.Fatalf("Install = %v, want the injected failure", err)
				}
				assertSameSnapshot(t, before, snapshot(t, dir))
				if !mapsEqual(beforeRec, recordsSnapshot(t, dir)) {
					t.Error("the record changed")
				}
			})
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkOutputsConsistent checks, after Recover, that no temp file or
// directory is left and that every output directory is recorded.
func checkOutputsConsistent(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := loadRecord(filepath.Join(dir, recordsDirName), testRef)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasSuffix(e.Name(), ".d") {
			continue
		}
		recorded := rec != nil && slices.ContainsFunc(rec.Versions, func(v versionState) bool { return v.Outputs != nil && v.Outputs.Dir == e.Name() })
		if !recorded {
			t.Errorf("output directory %s is not recorded", e.Name())
		}
		inner, _ := os.ReadDir(filepath.Join(dir, e.Name()))
		for _, f := range inner {
			if isTempName(f.Name()) {
				t.Errorf("temp file %s left in %s", f.Name(), e.Name())
			}
		}
	}
}

// Operations with outputs killed after every number of file system calls:
// Recover leaves no temp file or unrecorded directory, and repeating the
// operation ends with both links on one version.
func TestKilledOutputOperationsAreRecovered(t *testing.T) {
	v1 := newCert(t, testRef, "v1", ecKey, 1)
	v2 := newCert(t, testRef, "v2", ecKey, 1)
	with := func(dir string) store.Target {
		return store.Target{Location: dir, RelativeLinks: true, Outputs: allOutputs("")}
	}
	plain := func(dir string) store.Target { return store.Target{Location: dir} }
	scenarios := []struct {
		name   string
		target func(string) store.Target
		setup  func(t *testing.T, s *Store, dir string)
		do     func(t *testing.T, s *Store, dir string) error
	}{
		{"first install", with, func(*testing.T, *Store, string) {}, func(t *testing.T, s *Store, dir string) error {
			_, err := s.Install(t.Context(), with(dir), v1)
			return err
		}},
		{"new version", with, func(t *testing.T, s *Store, dir string) { mustInstall(t, s, with(dir), v1) }, func(t *testing.T, s *Store, dir string) error {
			_, err := s.Install(t.Context(), with(dir), v2)
			return err
		}},
		{"outputs added", with, func(t *testing.T, s *Store, dir string) { mustInstall(t, s, plain(dir), v1) }, func(t *testing.T, s *Store, dir string) error {
			_, err := s.MakeCurrent(t.Context(), with(dir), testRef, "v1")
			return err
		}},
		{"outputs changed in place", with, func(t *testing.T, s *Store, dir string) {
			mustInstall(t, s, store.Target{Location: dir, RelativeLinks: true, Outputs: store.Outputs{Cert: true}}, v1)
		}, func(t *testing.T, s *Store, dir string) error {
			_, err := s.MakeCurrent(t.Context(), with(dir), testRef, "v1")
			return err
		}},
		{"outputs dropped", plain, func(t *testing.T, s *Store, dir string) {
			mustInstall(t, s, with(dir), v1)
			mustInstall(t, s, with(dir), v2)
		}, func(t *testing.T, s *Store, dir string) error {
			_, err := s.MakeCurrent(t.Context(), plain(dir), testRef, "v2")
			return err
		}},
		{"delete", with, func(t *testing.T, s *Store, dir string) {
			mustInstall(t, s, with(dir), v1)
			mustInstall(t, s, with(dir), v2)
		}, func(t *testing.T, s *Store, dir string) error {
			_, err := s.Delete(t.Context(), with(dir), testRef, []string{"v1"})
			return err
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for limit := 0; ; limit++ {
				s, dir, _ := newTestStore(t)
				sc.setup(t, s, dir)
				cfs := &crashFS{limit: limit}
				s.fs = cfs
				err := sc.do(t, s, dir)
				if !cfs.killed() {
					if err != nil {
						t.Fatalf("without a kill: %v", err)
					}
					return
				}
				restarted := New(Options{Logger: discard()})
				if err := restarted.Recover(t.Context(), []store.Target{sc.target(dir)}); err != nil {
					t.Fatalf("killed after %d calls: Recover: %v", limit, err)
				}
				checkConsistent(t, dir)
				checkOutputsConsistent(t, dir)
				if err := sc.do(t, restarted, dir); err != nil {
					t.Fatalf("killed after %d calls: repeating: %v", limit, err)
				}
				// The agent's next pass: the newest version is made
				// current when the layout is not what the target asks.
				listed, err := restarted.List(t.Context(), sc.target(dir), testRef)
				if err != nil {
					t.Fatalf("killed after %d calls: List: %v", limit, err)
				}
				if len(listed) > 0 && !listed[0].Current {
					if _, err := restarted.MakeCurrent(t.Context(), sc.target(dir), testRef, listed[0].Version); err != nil {
						t.Fatalf("killed after %d calls: MakeCurrent: %v", limit, err)
					}
					if listed, _ = restarted.List(t.Context(), sc.target(dir), testRef); !listed[0].Current {
						t.Fatalf("killed after %d calls: not current after MakeCurrent", limit)
					}
				}
				checkOutputsConsistent(t, dir)
				noTempFiles(t, dir)
			}
		})
	}
}
