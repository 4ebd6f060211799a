//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
)

// secretValueFor is a large value unique to round n, so a partly written
// file is told from a whole one.
func secretValueFor(n int) string {
	return fmt.Sprintf("BEGIN-%d:", n) + strings.Repeat(fmt.Sprintf("tok%dsecretvalue-", n), 4096) + fmt.Sprintf(":END-%d", n)
}

// TestPlainSecretRotatesIntoItsFile runs akvvm run with a certificate and
// a plain secret (observedSecrets) against the emulator: the secret is
// written to its file with its mode (and owner, as root); every rotation
// in the vault rewrites the file atomically while a reader loops over it
// (never empty, never partial, never another mode), the reload command
// runs once per version, the status shows the entry as kind secret, and
// the value appears in no log, status output or record.
func TestPlainSecretRotatesIntoItsFile(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "plainvault")
	cert := e.create(t, "plainvault", "web", emulator.CertificateSpec{KeyType: "EC-P256"})
	values := []string{secretValueFor(0)}
	first, err := e.admin.SetSecret(t.Context(), "plainvault", "db", emulator.SecretSpec{Value: values[0], ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	b := newBox(t)
	path := filepath.Join(b.dir, "app", "db.conn")
	marker := filepath.Join(b.dir, "reloaded")
	entry := map[string]any{"url": "https://plainvault.vault.azure.net/secrets/db", "path": path, "mode": "0640",
		"reloadCommand": []string{"/bin/sh", "-c", `echo "$AKVVM_KIND $AKVVM_SECRET $AKVVM_VERSION" >> ` + marker}}
	root := os.Geteuid() == 0
	if root {
		entry["owner"], entry["group"] = "65534", "65534"
	}
	b.writeSettingsWith(t, e, map[string]any{"pollingIntervalInS": "1", "observedSecrets": []any{entry}}, nil,
		map[string]any{"url": "https://plainvault.vault.azure.net/secrets/web"})
	if out, code := akvvm(t, "validate", "--platform", "linux", "--settings", b.settings); code != 0 || !strings.Contains(out, "Secrets:       1") {
		t.Fatalf("validate: exit %d\n%s", code, out)
	}
	d := b.startRun(t, e)
	b.waitInstalled(t, "plainvault/web", cert.Version)
	b.waitInstalled(t, "plainvault/db", first.Version)
	checkSecretFile(t, path, values[0], root)

	var (
		stop       atomic.Bool
		reads, bad atomic.Int64
		mu         sync.Mutex
		known      = map[string]bool{values[0]: true}
		seen       = map[string]bool{}
		badWhat    string
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			data, err := os.ReadFile(path)
			fi, serr := os.Stat(path)
			mu.Lock()
			switch {
			case err != nil || serr != nil:
				bad.Add(1)
				badWhat = fmt.Sprintf("read: %v %v", err, serr)
			case !known[string(data)]:
				bad.Add(1)
				badWhat = fmt.Sprintf("a read of %d bytes is no whole version", len(data))
			case fi.Mode().Perm() != 0o640:
				bad.Add(1)
				badWhat = fmt.Sprintf("mode %04o", fi.Mode().Perm())
			default:
				seen[string(data)] = true
			}
			mu.Unlock()
			reads.Add(1)
		}
	}()
	versions := []string{first.Version}
	for n := 1; n <= 3; n++ {
		nextSecond()
		v := secretValueFor(n)
		mu.Lock()
		known[v] = true
		mu.Unlock()
		values = append(values, v)
		sv, err := e.admin.SetSecret(t.Context(), "plainvault", "db", emulator.SecretSpec{Value: v, ContentType: "text/plain"})
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, sv.Version)
		b.waitInstalled(t, "plainvault/db", sv.Version)
	}
	stop.Store(true)
	<-done
	mu.Lock()
	distinct := len(seen)
	mu.Unlock()
	t.Logf("%d reads saw %d versions", reads.Load(), distinct)
	if bad.Load() != 0 {
		t.Errorf("%d of %d reads saw no whole, right-mode file (last: %s)", bad.Load(), reads.Load(), badWhat)
	}
	if distinct < 3 {
		t.Errorf("the reader saw %d versions, want the rotations to happen while it read", distinct)
	}
	checkSecretFile(t, path, values[3], root)
	waitFor(t, "the reload command for every version", func() (bool, string) {
		data, _ := os.ReadFile(marker)
		return strings.Count(string(data), "\n") >= 4, string(data)
	})
	data, _ := os.ReadFile(marker)
	var want []string
	for _, v := range versions {
		want = append(want, "secret db "+v)
	}
	if got := strings.Split(strings.TrimSpace(string(data)), "\n"); !slices.Equal(got, want) {
		t.Errorf("reload command ran for %q, want %q", got, want)
	}

	st := b.status(t)
	sec := certStatus(t, st, "plainvault/db")
	if sec.Kind != agent.KindSecret || sec.InstalledVersion != versions[3] || sec.Location != path || sec.Thumbprint != "" || sec.LastError != "" {
		t.Errorf("secret status = %+v", sec)
	}
	if c := certStatus(t, st, "plainvault/web"); c.Kind != "" || c.Thumbprint == "" {
		t.Errorf("certificate status = %+v", c)
	}
	if !strings.Contains(st.Message, "1 of 1 certificates installed and 1 of 1 secrets written") {
		t.Errorf("message = %q", st.Message)
	}
	table, code := akvvm(t, "status", "--state-dir", b.state)
	if code != 0 || !contains(table, "CERTIFICATE", "SECRET", "plainvault/db", path) {
		t.Errorf("akvvm status: exit %d\n%s", code, table)
	}
	d.stop(t)

	// The value is nowhere but in its file.
	texts := map[string]string{"akvvm run output": d.out.String(), "akvvm status": table}
	_ = filepath.WalkDir(b.state, func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			data, _ := os.ReadFile(p)
			texts[p] = string(data)
		}
		return nil
	})
	if _, ok := texts[filepath.Join(b.state, "status.json")]; !ok || len(texts) < 4 {
		t.Errorf("state files read: %d", len(texts))
	}
	for what, text := range texts {
		for n := range values {
			if strings.Contains(text, fmt.Sprintf("tok%dsecretvalue", n)) {
				t.Errorf("%s shows the value of version %d", what, n)
			}
		}
	}
}

// checkSecretFile checks the file's content, mode and, as root, owner.
func checkSecretFile(t *testing.T, path, value string, root bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil || string(data) != value {
		t.Fatalf("%s holds %d bytes (%v), want the current value", path, len(data), err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %04o, want 0640", fi.Mode().Perm())
	}
	if st := fi.Sys().(*syscall.Stat_t); root && (st.Uid != 65534 || st.Gid != 65534) {
		t.Errorf("owner = %d:%d, want 65534:65534", st.Uid, st.Gid)
	}
}

// TestDoctorChecksPlainSecrets runs akvvm doctor against the emulator with
// two plain secrets, one missing from the vault and one whose directory
// cannot exist: doctor checks each one's get permission in its vault and
// its directory, and names both failures.
func TestDoctorChecksPlainSecrets(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "docsecvault")
	e.create(t, "docsecvault", "web", emulator.CertificateSpec{})
	if _, err := e.admin.SetSecret(t.Context(), "docsecvault", "db", emulator.SecretSpec{Value: "do-not-print-me"}); err != nil {
		t.Fatal(err)
	}
	b := newBox(t)
	blocker := filepath.Join(b.dir, "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b.writeSettingsWith(t, e, map[string]any{"observedSecrets": []any{
		map[string]any{"url": "https://docsecvault.vault.azure.net/secrets/db", "path": filepath.Join(b.dir, "app", "db")},
		map[string]any{"url": "https://docsecvault.vault.azure.net/secrets/gone", "path": filepath.Join(blocker, "gone")},
	}}, nil, map[string]any{"url": "https://docsecvault.vault.azure.net/secrets/web"})
	out, code := akvvm(t, append([]string{"doctor", "--settings", b.settings}, e.agentArgs()...)...)
	t.Logf("akvvm doctor (exit %d):\n%s", code, out)
	if code == 0 {
		t.Error("doctor passed with a missing secret and an impossible path")
	}
	for _, w := range []string{"1 certificate and 2 secrets in 1 vault", "✓ secrets get db: allowed", "✗ secrets get gone", "not found",
		"secret files", "✓ secret file " + filepath.Join(b.dir, "app", "db"), "✗ secret file " + filepath.Join(blocker, "gone")} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if strings.Contains(out, "do-not-print-me") {
		t.Error("doctor printed the value")
	}
}
