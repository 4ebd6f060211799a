package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/emulator"
)

// startTestEmulator runs an in-memory emulator in-process.
func startTestEmulator(t *testing.T) *emulator.Emulator {
	t.Helper()
	e, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// runCLI runs 'akvvm emulator <args>' against e's admin API and returns stdout.
func runCLI(t *testing.T, e *emulator.Emulator, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append(append([]string{"emulator"}, args...), "--admin", e.AdminURL(), "--ca-file", e.CAFile()))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestEmulatorAdminCommands(t *testing.T) {
	e := startTestEmulator(t)
	const id = "11111111-2222-4333-8444-555555555555"
	steps := [][]string{
		{"vault", "create", "--name", "myvault"},
		{"vault", "create", "--name", "cnvault", "--cloud", "china", "--grant", id + "=get,list"},
		{"identity", "add", id},
		{"vault", "access", "--vault", "myvault", "--grant", id + "=get"},
	}
	for _, s := range steps {
		if out, err := runCLI(t, e, s...); err != nil {
			t.Fatalf("%v: %v (%s)", s, err, out)
		}
	}
	if v := e.Vaults(); len(v) != 2 || v[0].URL != "https://cnvault.vault.azure.cn" || len(v[1].Access[id]) != 1 {
		t.Errorf("vaults after CLI = %+v", v)
	}

	out, err := runCLI(t, e, "cert", "create", "--vault", "myvault", "--name", "web", "--dns", "www.example.com", "--content-type", "pem", "--key-type", "EC-P256")
	if err != nil {
		t.Fatalf("cert create: %v", err)
	}
	var created emulator.SecretVersion
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Thumbprint == "" || created.ContentType != "application/x-pem-file" {
		t.Fatalf("cert create printed %q (%v)", out, err)
	}
	out, err = runCLI(t, e, "cert", "rotate", "--vault", "myvault", "--name", "web")
	var rotated emulator.SecretVersion
	if err != nil || json.Unmarshal([]byte(out), &rotated) != nil || rotated.Version == created.Version {
		t.Fatalf("cert rotate: %v %q", err, out)
	}

	// Import the issued PEM back as a PFX.
	pemFile := filepath.Join(t.TempDir(), "web.pem")
	if err := os.WriteFile(pemFile, []byte(latestValue(t, e, "myvault", "web")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, e, "cert", "import", "--vault", "myvault", "--name", "copy", "--file", pemFile)
	var imported emulator.SecretVersion
	if err != nil || json.Unmarshal([]byte(out), &imported) != nil || imported.Thumbprint != rotated.Thumbprint || imported.ContentType != "application/x-pkcs12" {
		t.Fatalf("cert import: %v %q", err, out)
	}

	valueFile := filepath.Join(t.TempDir(), "v")
	if err := os.WriteFile(valueFile, []byte("from-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, e, "secret", "set", "--vault", "myvault", "--name", "db", "--value-file", valueFile); err != nil {
		t.Fatalf("secret set: %v", err)
	}
	if got := latestValue(t, e, "myvault", "db"); got != "from-file" {
		t.Errorf("secret value = %q", got)
	}

	second, err := e.SetSecret("myvault", "db", emulator.SecretSpec{Value: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, e, "secret", "delete", "--vault", "myvault", "--name", "db", "--version", second.Version); err != nil {
		t.Fatalf("secret delete --version: %v", err)
	}
	if got := latestValue(t, e, "myvault", "db"); got != "from-file" {
		t.Errorf("latest value after deleting the second version = %q, want the first again", got)
	}
	if _, err := runCLI(t, e, "secret", "disable", "--vault", "myvault", "--name", "db"); err != nil {
		t.Fatalf("secret disable: %v", err)
	}
	if v := latestVersion(t, e, "myvault", "db"); v.Enabled {
		t.Errorf("latest version still enabled after secret disable: %+v", v)
	}
	if _, err := runCLI(t, e, "secret", "enable", "--vault", "myvault", "--name", "db"); err != nil {
		t.Fatalf("secret enable: %v", err)
	}
	if v := latestVersion(t, e, "myvault", "db"); !v.Enabled {
		t.Errorf("latest version disabled after secret enable: %+v", v)
	}
	if _, err := runCLI(t, e, "secret", "delete", "--vault", "myvault", "--name", "gone"); !errors.Is(err, emulator.ErrNotFound) {
		t.Errorf("secret delete of a missing secret = %v, want not found", err)
	}

	out, err = runCLI(t, e, "fault", "add", "--op", "getSecret", "--secret", "db", "--status", "429", "--retry-after", "3", "--count", "0")
	if err != nil || !strings.Contains(out, `"id"`) {
		t.Fatalf("fault add: %v %q", err, out)
	}
	if f := e.Faults(); len(f) != 1 || f[0].Status != 429 || f[0].RetryAfter != 3 || f[0].Count != 0 || f[0].Secret != "db" {
		t.Errorf("faults after CLI = %+v", f)
	}
	if _, err := runCLI(t, e, "fault", "clear"); err != nil || len(e.Faults()) != 0 {
		t.Errorf("fault clear: %v, left %+v", err, e.Faults())
	}
	if out, err := runCLI(t, e, "requests", "--counts"); err != nil || !strings.HasPrefix(strings.TrimSpace(out), "[") {
		t.Errorf("requests --counts: %v %q", err, out)
	}

	errorCases := []struct {
		args []string
		want string
	}{
		{[]string{"cert", "create", "--vault", "nosuch", "--name", "x"}, "nosuch"},
		{[]string{"cert", "create", "--vault", "myvault"}, "name"},
		{[]string{"cert", "rotate", "--vault", "myvault", "--name", "db"}, "never created"},
		{[]string{"secret", "set", "--vault", "myvault", "--name", "x"}, "--value"},
		{[]string{"vault", "access", "--vault", "myvault"}, "--open"},
		{[]string{"vault", "create", "--name", "v2", "--grant", "bad"}, "CLIENT_ID=PERM"},
		{[]string{"fault", "add", "--op", "nope"}, "op"},
	}
	for _, tt := range errorCases {
		if _, err := runCLI(t, e, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tt.args, err, tt.want)
		}
	}
}

// latestValue reads a secret's latest value through the emulator's Go API.
func latestVersion(t *testing.T, e *emulator.Emulator, vault, name string) emulator.SecretValue {
	t.Helper()
	v, err := e.GetSecret(vault, name, "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func latestValue(t *testing.T, e *emulator.Emulator, vault, name string) string {
	t.Helper()
	v, err := e.GetSecret(vault, name, "")
	if err != nil {
		t.Fatal(err)
	}
	return v.Value
}

func TestRunEmulatorPrintsClientOptions(t *testing.T) {
	dir := t.TempDir()
	o := emulatorOptions{listen: "127.0.0.1:0", imdsListen: "127.0.0.1:0", stateDir: dir, vaults: []string{"myvault", "cnvault:china"},
		identities: []string{"11111111-2222-4333-8444-555555555555"}, throttle: 10, tokenLifetime: 60e9, logLevel: "debug"}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	var started *emulator.Emulator
	err := runEmulator(ctx, o, &out, &errOut, func(e *emulator.Emulator) {
		started = e
		cancel()
	})
	if err != nil {
		t.Fatalf("runEmulator: %v", err)
	}
	text := out.String()
	for _, want := range []string{
		"https://myvault.vault.azure.net", "https://cnvault.vault.azure.cn",
		started.IMDSEndpoint(), started.AdminURL(),
		"--connect-to '*.vault.azure.net=" + strings.TrimPrefix(started.AdminURL(), "https://") + "'",
		"--ca-file " + filepath.Join(dir, "ca.pem"), "Stopping",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
		t.Errorf("state not written to --state-dir: %v", err)
	}
	if err := runEmulator(context.Background(), emulatorOptions{logLevel: "loud"}, &out, &errOut, nil); err == nil {
		t.Error("runEmulator accepted --log-level loud")
	}
}

func TestDefaultEmulatorStateDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/xdg")
	if got := defaultEmulatorStateDir(); got != filepath.Join("/xdg", "akvvm", "emulator") {
		t.Errorf("with XDG_STATE_HOME: %s", got)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got := defaultEmulatorStateDir(); got != filepath.Join("/home/u", ".local", "state", "akvvm", "emulator") {
		t.Errorf("without XDG_STATE_HOME: %s", got)
	}
}
