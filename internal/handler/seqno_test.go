package handler

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func writeSettingsAt(t *testing.T, dir string, seq int, content string, mtime time.Time) {
	t.Helper()
	p := SettingsPath(dir, seq)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestRequestedSeq(t *testing.T) {
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	dir := tempDir(t)
	writeSettingsAt(t, dir, 3, "{}", base)
	writeSettingsAt(t, dir, 10, "{}", base.Add(-time.Hour)) // higher but older
	writeSettingsAt(t, dir, 2, "{}", base)                  // tie with 3
	if err := os.WriteFile(filepath.Join(dir, "x.settings"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "HandlerState"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  string
		want int
	}{
		{"7", 7},   // the guest agent's variable wins
		{"", 3},    // newest mtime, ties go to the highest number
		{"abc", 3}, // unusable variable: fall back to the files
		{"-1", 3},
	} {
		got, err := RequestedSeq(dir, tc.env)
		if err != nil || got != tc.want {
			t.Errorf("RequestedSeq(env %q) = %d, %v; want %d", tc.env, got, err, tc.want)
		}
	}
	if _, err := RequestedSeq(tempDir(t), ""); err == nil {
		t.Error("no settings files and no variable: no error")
	}
}

func TestReadSettingsEmptyMeansNone(t *testing.T) {
	dir := tempDir(t)
	writeSettingsAt(t, dir, 0, " \n", time.Now())
	writeSettingsAt(t, dir, 1, `{"runtimeSettings":[]}`, time.Now())
	if data, err := ReadSettings(dir, 0); err != nil || data != nil {
		t.Errorf("empty file: %q, %v; want no settings", data, err)
	}
	if data, err := ReadSettings(dir, 1); err != nil || len(data) == 0 {
		t.Errorf("settings file: %q, %v", data, err)
	}
	if _, err := ReadSettings(dir, 2); err == nil {
		t.Error("missing file: no error")
	}
}

func TestMRSeq(t *testing.T) {
	dir := tempDir(t)
	if _, ok, err := ReadMRSeq(dir); ok || err != nil {
		t.Fatalf("fresh dir: ok=%v err=%v", ok, err)
	}
	if err := WriteMRSeq(dir, 12); err != nil {
		t.Fatal(err)
	}
	if n, ok, err := ReadMRSeq(dir); n != 12 || !ok || err != nil {
		t.Errorf("ReadMRSeq = %d, %v, %v", n, ok, err)
	}
	// Windows has no Unix permission bits (Go reports 0666 there).
	if fi, err := os.Stat(filepath.Join(dir, "mrseq")); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("mrseq file: %v, %v", fi, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mrseq"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := ReadMRSeq(dir); ok || err != nil {
		t.Errorf("damaged mrseq: ok=%v err=%v; want treated as none", ok, err)
	}
}

func TestExtensionVersionAndSchema(t *testing.T) {
	for _, tc := range []struct {
		env, dir, platform string
		version, schema    string
	}{
		{"", "/var/lib/waagent/Microsoft.Azure.KeyVault.KeyVaultForLinux-3.0.12", "linux", "3.0.12", "3.0"},
		{"", "/var/lib/waagent/Microsoft.Azure.KeyVault.KeyVaultForLinux-2.0.5", "linux", "2.0.5", "2.0"},
		{"2.1.0", "/anything", "linux", "2.1.0", "2.0"},
		{"", "/Packages/Plugins/Microsoft.Azure.KeyVault.KeyVaultForWindows/1.0.1", "windows", "1.0.1", "1.0"},
		{"", "/p/Microsoft.Azure.KeyVault.KeyVaultForWindows/4.0.2", "windows", "4.0.2", "4.0"},
		{"3.0.1", "/x", "windows", "3.0.1", "3.0"},
	} {
		dir := filepath.FromSlash(tc.dir)
		v, err := ExtensionVersion(tc.env, dir)
		if err != nil || v != tc.version {
			t.Errorf("ExtensionVersion(%q, %q) = %q, %v; want %q", tc.env, dir, v, err, tc.version)
			continue
		}
		s, err := SchemaFor(tc.platform, v)
		if err != nil || s.Version != tc.schema || string(s.Platform) != tc.platform {
			t.Errorf("SchemaFor(%s, %s) = %v, %v; want %s", tc.platform, v, s, err, tc.schema)
		}
	}
	if _, err := ExtensionVersion("", "/var/lib/waagent/handler"); err == nil {
		t.Error("a directory without a version: no error")
	}
	if _, err := ExtensionVersion("latest", "/x"); err == nil {
		t.Error("a non-numeric version: no error")
	}
	for _, tc := range [][2]string{{"linux", "1.0.0"}, {"linux", "4.0"}, {"windows", "2.0.1"}} {
		if s, err := SchemaFor(tc[0], tc[1]); err == nil {
			t.Errorf("SchemaFor(%s, %s) = %v; want an error", tc[0], tc[1], s)
		}
	}
}
