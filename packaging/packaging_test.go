package packaging

import (
	"archive/zip"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestManifestsCallTheHandlerCommands(t *testing.T) {
	for _, goos := range []string{"linux", "windows"} {
		data, err := Manifest(goos)
		if err != nil {
			t.Fatal(err)
		}
		m, err := CheckManifest(data, goos)
		if err != nil {
			t.Errorf("%s manifest: %v", goos, err)
		}
		if !m.HandlerManifest.ReportHeartbeat || m.Version != 1 {
			t.Errorf("%s manifest = %+v", goos, m)
		}
	}
}

func TestCheckManifestRejects(t *testing.T) {
	good, _ := Manifest("linux")
	for name, data := range map[string]string{
		"object, not array": `{"version":1.0}`,
		"two elements":      "[" + strings.Trim(string(good), "[]\n") + "," + strings.Trim(string(good), "[]\n") + "]",
		"no heartbeat":      strings.Replace(string(good), `"reportHeartbeat": true`, `"reportHeartbeat": false`, 1),
		"wrong command":     strings.Replace(string(good), "handler enable", "handler run", 1),
		"windows binary":    string(good), // checked as a Windows manifest below
	} {
		goos := "linux"
		if name == "windows binary" {
			goos = "windows"
		}
		if _, err := CheckManifest([]byte(data), goos); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBuildAndCheckPackage(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "akvvm")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, goos := range []string{"linux", "windows"} {
		var buf bytes.Buffer
		if err := Build(&buf, goos, bin); err != nil {
			t.Fatal(err)
		}
		if err := Check(buf.Bytes(), goos); err != nil {
			t.Errorf("%s package: %v", goos, err)
		}
		other := map[string]string{"linux": "windows", "windows": "linux"}[goos]
		if err := Check(buf.Bytes(), other); err == nil {
			t.Errorf("%s package passed as a %s package", goos, other)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if f.Name == BinaryName(goos) && f.Mode().Perm() != 0o755 {
				t.Errorf("%s: binary mode %v, want 0755", goos, f.Mode())
			}
		}
	}
	if err := Build(&bytes.Buffer{}, "linux", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Build without a binary succeeded")
	}
}

func TestCheckRejectsPackageWithoutManifest(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("bin/akvvm")
	w.Write([]byte("x"))
	zw.Close()
	if err := Check(buf.Bytes(), "linux"); err == nil || !strings.Contains(err.Error(), "HandlerManifest.json") {
		t.Errorf("Check = %v, want a missing-manifest error", err)
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the rendered unit.
// scripts/install-systemd-analyze.sh installs the tool on Debian.
func TestSystemdUnitVerifies(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd); unit not verified")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "akvvm")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(SystemdUnit(), "@BINARY@", bin)
	path := filepath.Join(dir, "akvvm_service.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "verify", "--man=no", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify warns:\n%s", out)
	}
	broken := strings.ReplaceAll(unit, "Type=simple", "Type=bogus")
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "verify", "--man=no", path).CombinedOutput(); err == nil && len(bytes.TrimSpace(out)) == 0 {
		t.Error("systemd-analyze accepted a broken unit: the check cannot fail")
	}
}

// The service exits with code 0 while the extension is disabled or has no
// settings yet; the unit must not restart such an exit (a restart loop
// every RestartSec), but must restart a crash.
func TestSystemdUnitRestartsOnlyAFailure(t *testing.T) {
	var restart []string
	for _, line := range strings.Split(SystemdUnit(), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Restart="); ok {
			restart = append(restart, v)
		}
	}
	if len(restart) != 1 || restart[0] != "on-failure" {
		t.Errorf("Restart= %v, want exactly on-failure", restart)
	}
}
