package emulator

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestStateSurvivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	const user = "abcdefab-1234-4234-8234-123456789012"

	e1, err := New(Config{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := e1.Start(); err != nil {
		t.Fatal(err)
	}
	mustVault(t, e1, VaultSpec{Name: "keep", Access: map[string][]Permission{user: {PermGet, PermList}}})
	if err := e1.AddIdentity(user); err != nil {
		t.Fatal(err)
	}
	plain, err := e1.SetSecret("keep", "plain", SecretSpec{Value: "persisted-value", Tags: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := e1.CreateCertificate("keep", "tls", CertificateSpec{DNSNames: []string{"keep.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	oldToken := mustToken(t, e1, "https://vault.azure.net", user)
	rootBefore := e1.RootPEM()
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}

	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "state.json"): 0o600, filepath.Join(dir, "token.key"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, want)
		}
	}

	e2 := startEmulator(t, Config{StateDir: dir})
	if !bytes.Equal(e2.RootPEM(), rootBefore) {
		t.Error("the CA changed across a restart")
	}
	if ca, err := os.ReadFile(e2.CAFile()); err != nil || !bytes.Equal(ca, rootBefore) {
		t.Errorf("CA file %s does not hold the root (%v)", e2.CAFile(), err)
	}
	if ids := e2.Identities(); len(ids) != 2 || ids[1] != user {
		t.Errorf("identities after restart = %v", ids)
	}
	// A token issued before the restart is still valid: the key persisted.
	c := httpClient(t, e2)
	r := rawRequest(t, c, "GET", "https://keep.vault.azure.net/secrets/plain/"+plain.Version+"?api-version=7.5", oldToken, "")
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"value":"persisted-value"`)) || !bytes.Contains(r.body, []byte(`"tags":{"k":"v"}`)) {
		t.Errorf("plain secret after restart = %d %s", r.status, r.body)
	}
	// Access lists persisted too: the user has no set permission.
	if r := rawRequest(t, c, "PUT", "https://keep.vault.azure.net/secrets/plain?api-version=7.5", oldToken, `{"value":"x"}`); r.status != 403 {
		t.Errorf("set without permission after restart = %d, want 403", r.status)
	}
	sdk := sdkClient(t, e2, "https://keep.vault.azure.net", newCred(e2, user))
	s, err := sdk.GetSecret(context.Background(), "tls", "", nil)
	if err != nil || s.ID.Version() != cert.Version {
		t.Fatalf("certificate after restart: %v %v", s.ID, err)
	}
	checkCert(t, decodeSecretValue(t, *s.Value, *s.ContentType), e2.ca.Root(), "keep.example.com")
	// Rotation parameters persisted.
	if _, err := e2.RotateCertificate("keep", "tls"); err != nil {
		t.Errorf("rotate after restart: %v", err)
	}
}

func TestStateFileErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(`{"format":1,"vaults":{"x":{"name":""}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{StateDir: dir}); err == nil {
		t.Error("New accepted a state file with a nameless vault")
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(`{"format":2}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{StateDir: dir}); err == nil {
		t.Error("New accepted an unknown state format")
	}
}

func TestInMemoryCleansUp(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	caFile := e.CAFile()
	if _, err := os.Stat(caFile); err != nil {
		t.Fatalf("CA file missing while running: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(caFile)); !os.IsNotExist(err) {
		t.Errorf("temporary directory %s left behind (%v)", filepath.Dir(caFile), err)
	}
}

// A version whose state cannot be saved is refused and not served either.
func TestUnsavedVersionIsNotKept(t *testing.T) {
	dir := t.TempDir()
	e := startEmulator(t, Config{StateDir: dir})
	if _, err := e.CreateVault(VaultSpec{Name: "savevault"}); err != nil {
		t.Fatal(err)
	}
	// A non-empty directory where the state file goes makes every save fail.
	statePath := filepath.Join(dir, "state.json")
	if err := os.Remove(statePath); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(statePath, "blocked"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SetSecret("savevault", "s1", SecretSpec{Value: "v"}); err == nil {
		t.Fatal("SetSecret succeeded although the state could not be saved")
	}
	if _, err := e.GetSecret("savevault", "s1", ""); err == nil {
		t.Error("the unsaved secret is served")
	}
}
