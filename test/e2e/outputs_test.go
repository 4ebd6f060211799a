//go:build linux

package e2e

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// ossl runs openssl with args and returns its standard output.
func ossl(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// needOpenSSL skips the test where openssl is not installed.
func needOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed; install it to check the output files with another tool")
	}
}

// subjectsAndIssuers lists, in file order, the subject and issuer of each
// certificate of a PEM file, as openssl reads them.
func subjectsAndIssuers(t *testing.T, file string) (subjects, issuers []string) {
	t.Helper()
	p7 := filepath.Join(t.TempDir(), "certs.p7")
	ossl(t, "crl2pkcs7", "-nocrl", "-certfile", file, "-out", p7)
	for line := range strings.Lines(ossl(t, "pkcs7", "-in", p7, "-print_certs", "-noout")) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "subject="); ok {
			subjects = append(subjects, v)
		} else if v, ok := strings.CutPrefix(line, "issuer="); ok {
			issuers = append(issuers, v)
		}
	}
	return subjects, issuers
}

// TestOutputFilesCheckedWithOpenSSL installs a certificate with every
// output file and checks each with openssl: cert and key belong together,
// the chain runs leaf to root, the PFX opens with the password from its
// file; the KeyVaultForLinux file beside them is unchanged.
func TestOutputFilesCheckedWithOpenSSL(t *testing.T) {
	t.Parallel()
	needOpenSSL(t)
	e := startEmulator(t, "outvault")
	v := e.create(t, "outvault", "web", emulator.CertificateSpec{DNSNames: []string{"web.example.com"}})
	b := newBox(t)
	pw := filepath.Join(b.dir, "pfx.pass")
	if err := os.WriteFile(pw, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.writeSettings(t, e, map[string]any{"url": "https://outvault.vault.azure.net/secrets/web", "customSymbolicLinkName": "web",
		"outputs": map[string]any{"cert": true, "chain": true, "fullChain": true, "key": true, "pfx": map[string]any{"passwordFile": pw}}})
	if out, code := akvvm(t, "validate", "--settings", b.settings); code != 0 || !strings.Contains(out, "web.d/ cert.pem, chain.pem, fullchain.pem, key.pem, cert.pfx") {
		t.Fatalf("validate exit %d:\n%s", code, out)
	}
	out, code := b.sync(t, e)
	if code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "correct horse") {
		t.Fatal("the PFX password is in the output")
	}
	d := filepath.Join(b.store, "web.d")
	resolved, err := filepath.EvalSymlinks(d)
	if err != nil || filepath.Base(resolved) != "outvault.web."+v.Version+".d" {
		t.Fatalf("web.d resolves to %q (%v), want the version's directory", resolved, err)
	}
	cert, key, chain, full, pfx := filepath.Join(d, "cert.pem"), filepath.Join(d, "key.pem"), filepath.Join(d, "chain.pem"), filepath.Join(d, "fullchain.pem"), filepath.Join(d, "cert.pfx")
	for _, f := range []string{cert, key, chain, full, pfx} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", filepath.Base(f), fi.Mode(), err)
		}
	}

	// The key belongs to the certificate: equal public keys.
	certPub := ossl(t, "x509", "-in", cert, "-noout", "-pubkey")
	if keyPub := ossl(t, "pkey", "-in", key, "-pubout"); certPub != keyPub {
		t.Error("key.pem does not belong to cert.pem")
	}
	if fp := ossl(t, "x509", "-in", cert, "-noout", "-fingerprint", "-sha1"); !strings.Contains(strings.ReplaceAll(fp, ":", ""), v.Thumbprint) {
		t.Errorf("cert.pem fingerprint %s, want the version's thumbprint %s", strings.TrimSpace(fp), v.Thumbprint)
	}
	// cert.pem is the leaf alone; fullchain.pem is the leaf, then each
	// certificate's issuer; chain.pem is fullchain.pem without the leaf.
	leafSubjects, _ := subjectsAndIssuers(t, cert)
	subjects, issuers := subjectsAndIssuers(t, full)
	chainSubjects, _ := subjectsAndIssuers(t, chain)
	if len(leafSubjects) != 1 || len(subjects) < 2 || subjects[0] != leafSubjects[0] {
		t.Fatalf("cert.pem %q, fullchain.pem %q: want the leaf alone, then leaf and issuers", leafSubjects, subjects)
	}
	for i := 0; i+1 < len(subjects); i++ {
		if issuers[i] != subjects[i+1] {
			t.Errorf("fullchain.pem: certificate %d is issued by %q, but %q follows it", i, issuers[i], subjects[i+1])
		}
	}
	if !slices.Equal(chainSubjects, subjects[1:]) {
		t.Errorf("chain.pem %q, want %q", chainSubjects, subjects[1:])
	}
	if got := ossl(t, "verify", "-partial_chain", "-CAfile", chain, cert); !strings.Contains(got, ": OK") {
		t.Errorf("openssl verify with chain.pem: %s", got)
	}
	// The PFX opens with the password (openssl reads the file's first line).
	pfxCert := ossl(t, "pkcs12", "-in", pfx, "-passin", "file:"+pw, "-nokeys", "-clcerts")
	pfxLeaf := filepath.Join(t.TempDir(), "leaf.pem")
	if err := os.WriteFile(pfxLeaf, []byte(pfxCert), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ossl(t, "x509", "-in", pfxLeaf, "-noout", "-pubkey"); got != certPub {
		t.Error("the PFX's certificate is not cert.pem's")
	}
	pfxKey := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(pfxKey, []byte(ossl(t, "pkcs12", "-in", pfx, "-passin", "file:"+pw, "-nocerts", "-nodes")), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ossl(t, "pkey", "-in", pfxKey, "-pubout"); got != certPub {
		t.Error("the PFX's key does not belong to its certificate")
	}
	if n := strings.Count(ossl(t, "pkcs12", "-in", pfx, "-passin", "file:"+pw, "-nokeys", "-cacerts"), "BEGIN CERTIFICATE"); n != len(subjects)-1 {
		t.Errorf("the PFX holds %d issuers, want %d", n, len(subjects)-1)
	}
	if err := exec.Command("openssl", "pkcs12", "-in", pfx, "-passin", "pass:wrong", "-noout").Run(); err == nil {
		t.Error("the PFX opens with a wrong password")
	}
	// The KeyVaultForLinux file is still leaf, chain and key in one file.
	if got := ossl(t, "x509", "-in", filepath.Join(b.store, "web"), "-noout", "-pubkey"); got != certPub {
		t.Error("the KeyVaultForLinux file changed")
	}
}

// keyOf parses a PKCS #8 PEM key.
func keyOf(data []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signer")
	}
	return s, nil
}

// TestOutputsSwitchAtomically rotates a certificate several times while
// the service runs and a reader, resolving web.d once per iteration as an
// application should, reads cert.pem and key.pem: it never sees a
// certificate with another version's key.
func TestOutputsSwitchAtomically(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "swvault")
	first := e.create(t, "swvault", "web", emulator.CertificateSpec{KeyType: "EC-P256"})
	b := newBox(t)
	b.writeSettingsWith(t, e, map[string]any{"pollingIntervalInS": "1"}, nil,
		map[string]any{"url": "https://swvault.vault.azure.net/secrets/web", "customSymbolicLinkName": "web",
			"outputs": map[string]any{"cert": true, "key": true, "fullChain": true}})
	d := b.startRun(t, e)
	b.waitInstalled(t, "swvault/web", first.Version)

	var (
		stop                         atomic.Bool
		checks, mismatches, vanished atomic.Int64
		mu                           sync.Mutex
		seen                         = map[string]bool{}
		readErr                      error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		link := filepath.Join(b.store, "web.d")
		for !stop.Load() {
			dir, err := filepath.EvalSymlinks(link) // resolved once per iteration
			if err != nil {
				readErr = err
				return
			}
			certPEM, err1 := os.ReadFile(filepath.Join(dir, "cert.pem"))
			keyPEM, err2 := os.ReadFile(filepath.Join(dir, "key.pem"))
			if err := errors.Join(err1, err2); err != nil {
				if errors.Is(err, fs.ErrNotExist) && !pathExists(dir) {
					vanished.Add(1) // an old version removed after two rotations
					continue
				}
				readErr = err
				return
			}
			blk, _ := pem.Decode(certPEM)
			if blk == nil {
				readErr = errors.New("cert.pem holds no PEM block")
				return
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				readErr = err
				return
			}
			k, err := keyOf(keyPEM)
			if err != nil {
				readErr = err
				return
			}
			if !c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
				mismatches.Add(1)
			}
			checks.Add(1)
			mu.Lock()
			seen[string(c.Raw)] = true
			mu.Unlock()
		}
	}()
	versions := []string{first.Version}
	for range 4 {
		nextSecond()
		v := e.rotate(t, "swvault", "web")
		versions = append(versions, v.Version)
		b.waitInstalled(t, "swvault/web", v.Version)
	}
	stop.Store(true)
	<-done
	d.stop(t)
	if readErr != nil {
		t.Fatalf("reader: %v", readErr)
	}
	mu.Lock()
	distinct := len(seen)
	mu.Unlock()
	t.Logf("%d reads over %d versions (%d of a directory removed meanwhile)", checks.Load(), distinct, vanished.Load())
	if mismatches.Load() != 0 {
		t.Errorf("%d of %d reads paired a certificate with another version's key", mismatches.Load(), checks.Load())
	}
	if distinct < 3 {
		t.Errorf("the reader saw %d versions, want the rotations to happen while it read", distinct)
	}
	if got, want := filepath.Base(mustEval(t, filepath.Join(b.store, "web.d"))), "swvault.web."+versions[4]+".d"; got != want {
		t.Errorf("web.d -> %s, want %s", got, want)
	}
	// Only the two kept versions have output directories.
	dirs, _ := filepath.Glob(filepath.Join(b.store, "swvault.web.*.d"))
	if len(dirs) != 2 {
		t.Errorf("output directories %q, want the two kept versions'", dirs)
	}
}

func pathExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func mustEval(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRelativeLinksResolveAfterTheStoreMoves installs with relative links
// and moves the whole store directory, as a container mounting it at
// another path sees it: both links still resolve. The same move breaks
// the absolute links of the default layout.
func TestRelativeLinksResolveAfterTheStoreMoves(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "relvault")
	e.create(t, "relvault", "web", emulator.CertificateSpec{})
	rel, abs := newBox(t), newBox(t)
	rel.writeSettings(t, e, map[string]any{"url": "https://relvault.vault.azure.net/secrets/web", "relativeLinks": true,
		"outputs": map[string]any{"cert": true, "key": true}})
	abs.writeSettings(t, e, map[string]any{"url": "https://relvault.vault.azure.net/secrets/web"})
	for _, b := range []*box{rel, abs} {
		if out, code := b.sync(t, e); code != 0 {
			t.Fatalf("sync exit %d:\n%s", code, out)
		}
	}
	movedRel, movedAbs := filepath.Join(t.TempDir(), "mnt", "certs"), filepath.Join(t.TempDir(), "mnt", "certs")
	for from, to := range map[string]string{rel.store: movedRel, abs.store: movedAbs} {
		if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(from, to); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(movedRel, "relvault.web"))
	if err != nil || !bytes.Contains(data, []byte("PRIVATE KEY")) {
		t.Fatalf("the relative link does not resolve after the move: %v", err)
	}
	for _, n := range []string{"cert.pem", "key.pem"} {
		if _, err := os.ReadFile(filepath.Join(movedRel, "relvault.web.d", n)); err != nil {
			t.Errorf("relvault.web.d/%s does not resolve after the move: %v", n, err)
		}
	}
	if _, err := os.Stat(filepath.Join(movedAbs, "relvault.web")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the absolute link of the default layout still resolves after the move (%v): the move proves nothing", err)
	}
}

// TestDefaultLayoutUnchanged checks that without outputs the store holds
// exactly the KeyVaultForLinux layout, and that dropping outputs from the
// settings brings it back, byte for byte.
func TestDefaultLayoutUnchanged(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "defvault")
	v := e.create(t, "defvault", "web", emulator.CertificateSpec{})
	plain, withOutputs := newBox(t), newBox(t)
	cert := func() map[string]any { return map[string]any{"url": "https://defvault.vault.azure.net/secrets/web"} }
	plain.writeSettings(t, e, cert())
	c := cert()
	c["outputs"] = map[string]any{"cert": true, "pfx": true}
	c["relativeLinks"] = true
	withOutputs.writeSettings(t, e, c)
	for _, b := range []*box{plain, withOutputs} {
		if out, code := b.sync(t, e); code != 0 {
			t.Fatalf("sync exit %d:\n%s", code, out)
		}
	}
	want := map[string]string{"defvault.web": "-> " + filepath.Join(plain.store, "defvault.web."+v.Version)}
	got := snapshot(t, plain.store)
	file := got["defvault.web."+v.Version]
	if !strings.HasPrefix(file, "-----BEGIN CERTIFICATE-----") || !strings.Contains(file, "PRIVATE KEY") {
		t.Fatal("the version file is not leaf, chain and key in PEM")
	}
	if got["defvault.web"] != want["defvault.web"] {
		t.Errorf("link %q, want the absolute path %q", got["defvault.web"], want["defvault.web"])
	}
	var names []string
	for n := range got {
		if !strings.HasPrefix(n, ".akvvm") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"defvault.web", "defvault.web." + v.Version}) {
		t.Errorf("store holds %q, want the KeyVaultForLinux link and version file alone", names)
	}
	if rec := got[".akvvm-records/defvault.web.json"]; !strings.Contains(rec, `"format": 2`) || strings.Contains(rec, "outputs") {
		t.Errorf("record of the default layout:\n%s", rec)
	}
	if withOutputs.link(t, "defvault.web.d") != "defvault.web."+v.Version+".d" {
		t.Fatal("the outputs were not written")
	}
	if got := snapshot(t, withOutputs.store)["defvault.web."+v.Version]; got != file {
		t.Error("with outputs, the KeyVaultForLinux version file differs from the default layout's")
	}

	// Dropping the outputs from the settings: the next sync removes them
	// and the store is the default layout again.
	withOutputs.writeSettings(t, e, cert())
	if out, code := withOutputs.sync(t, e); code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	after := snapshot(t, withOutputs.store)
	for n, content := range got {
		if n == "defvault.web" {
			content = "-> " + filepath.Join(withOutputs.store, "defvault.web."+v.Version)
		}
		if strings.HasSuffix(n, ".lock") || strings.HasPrefix(n, ".akvvm-records/") && strings.HasSuffix(n, ".json") {
			continue // installedAt differs between the two boxes
		}
		if after[n] != content {
			t.Errorf("%s differs from the default layout after dropping the outputs", n)
		}
	}
	if len(after) != len(got) {
		t.Errorf("after dropping the outputs the store holds %d entries, the default layout %d", len(after), len(got))
	}
	if rec := after[".akvvm-records/defvault.web.json"]; !strings.Contains(rec, `"format": 2`) || strings.Contains(rec, "outputs") || strings.Contains(rec, "relative") {
		t.Errorf("record after dropping the outputs:\n%s", rec)
	}
}

// TestOutputsValidation refuses, through validate, a password file others
// may read and outputs on Windows, naming the field.
func TestOutputsValidation(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "valvault")
	e.create(t, "valvault", "web", emulator.CertificateSpec{})
	b := newBox(t)
	pw := filepath.Join(b.dir, "pfx.pass")
	if err := os.WriteFile(pw, []byte("secret-word\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.writeSettings(t, e, map[string]any{"url": "https://valvault.vault.azure.net/secrets/web",
		"outputs": map[string]any{"pfx": map[string]any{"passwordFile": pw}}})
	out, code := akvvm(t, "validate", "--settings", b.settings)
	if code != 2 || !strings.Contains(out, "observedCertificates[0].outputs.pfx.passwordFile: \""+pw+"\" may be read or written by every user") || !strings.Contains(out, "chmod 600") {
		t.Errorf("validate with a world-readable password file: exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "secret-word") {
		t.Error("validate printed the password")
	}
	// The service refuses to write the PFX and says why in the status; nothing is installed.
	if out, code := b.sync(t, e); code == 0 || !strings.Contains(out, "outputs.pfx.passwordFile") {
		t.Errorf("sync with a world-readable password file: exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "secret-word") {
		t.Error("sync printed the password")
	}
	win := filepath.Join(b.dir, "win.json")
	if err := os.WriteFile(win, []byte(`{"secretsManagementSettings": {"observedCertificates": [{"url": "https://valvault.vault.azure.net/secrets/web", "outputs": {"cert": true}}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = akvvm(t, "validate", "--settings", win, "--platform", "windows")
	if code != 2 || !strings.Contains(out, `observedCertificates[0].outputs: "outputs" is an akvvm option of Linux stores only`) {
		t.Errorf("validate outputs for Windows: exit %d:\n%s", code, out)
	}
}

// TestOutputsAddedLaterNeedNoDownload adds outputs to the settings of an
// installed certificate: the next pass writes them from the installed
// file, with one version listing and no download, and runs the reload
// command once, since files appeared.
func TestOutputsAddedLaterNeedNoDownload(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "latevault")
	v := e.create(t, "latevault", "web", emulator.CertificateSpec{})
	b := newBox(t)
	marker := filepath.Join(b.dir, "reloaded")
	cert := map[string]any{"url": "https://latevault.vault.azure.net/secrets/web",
		"reloadCommand": []string{"/bin/sh", "-c", "echo x >> " + marker}}
	b.writeSettings(t, e, cert)
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	if err := os.Remove(marker); err != nil {
		t.Fatalf("the first install ran no reload command: %v", err)
	}
	if err := e.admin.ResetLog(t.Context()); err != nil {
		t.Fatal(err)
	}
	cert["outputs"] = map[string]any{"fullChain": true, "key": true}
	b.writeSettings(t, e, cert)
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	gets, lists := len(e.requests(t, emulator.OpGetSecret)), len(e.requests(t, emulator.OpListVersions))
	t.Logf("adding outputs: %d downloads, %d listings", gets, lists)
	if gets != 0 || lists != 1 {
		t.Errorf("adding outputs cost %d downloads and %d listings, want none and one", gets, lists)
	}
	if got := b.link(t, "latevault.web.d"); got != "latevault.web."+v.Version+".d" {
		t.Errorf("latevault.web.d -> %q", got)
	}
	if data, err := os.ReadFile(marker); err != nil || string(data) != "x\n" {
		t.Errorf("reload command after the outputs were written: %q, %v; want one run", data, err)
	}
	// An unchanged pass writes nothing and runs no command.
	before := mtimes(t, b.store)
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	if after := mtimes(t, b.store); !maps.EqualFunc(before, after, func(a, b time.Time) bool { return a.Equal(b) }) {
		t.Error("an unchanged pass touched the store")
	}
	if data, _ := os.ReadFile(marker); string(data) != "x\n" {
		t.Errorf("an unchanged pass ran the reload command: %q", data)
	}
}
