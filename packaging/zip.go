package packaging

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// HandlerManifest is the part of HandlerManifest.json the guest agent reads.
type HandlerManifest struct {
	Version         float64 `json:"version"`
	HandlerManifest struct {
		InstallCommand   string `json:"installCommand"`
		UninstallCommand string `json:"uninstallCommand"`
		UpdateCommand    string `json:"updateCommand"`
		EnableCommand    string `json:"enableCommand"`
		DisableCommand   string `json:"disableCommand"`
		ReportHeartbeat  bool   `json:"reportHeartbeat"`
		UpdateMode       string `json:"updateMode"`
	} `json:"handlerManifest"`
}

// BinaryName is the akvvm executable's path inside a package of goos.
func BinaryName(goos string) string {
	if goos == "windows" {
		return "bin/akvvm.exe"
	}
	return "bin/akvvm"
}

// CommandBinary is how the manifest's commands name the executable: the
// Windows guest agent runs them through cmd.exe, which needs backslashes.
func CommandBinary(goos string) string {
	if goos == "windows" {
		return `bin\akvvm.exe`
	}
	return "bin/akvvm"
}

// CheckManifest parses a manifest and checks what the guest agent needs:
// a one-element array whose five commands run "<binary> handler <op>",
// with reportHeartbeat true. It returns the element.
func CheckManifest(data []byte, goos string) (HandlerManifest, error) {
	var list []HandlerManifest
	if err := json.Unmarshal(data, &list); err != nil {
		return HandlerManifest{}, fmt.Errorf("HandlerManifest.json is not a JSON array: %w", err)
	}
	if len(list) != 1 {
		return HandlerManifest{}, fmt.Errorf("HandlerManifest.json has %d elements; the guest agent reads exactly one", len(list))
	}
	m := list[0]
	h := m.HandlerManifest
	var errs []error
	for _, c := range []struct{ op, cmd string }{{"install", h.InstallCommand}, {"uninstall", h.UninstallCommand},
		{"update", h.UpdateCommand}, {"enable", h.EnableCommand}, {"disable", h.DisableCommand}} {
		if want := CommandBinary(goos) + " handler " + c.op; c.cmd != want {
			errs = append(errs, fmt.Errorf("%sCommand is %q, want %q", c.op, c.cmd, want))
		}
	}
	if !h.ReportHeartbeat {
		errs = append(errs, errors.New("reportHeartbeat must be true: the service writes the heartbeat file"))
	}
	if !strings.EqualFold(h.UpdateMode, "UpdateWithInstall") {
		errs = append(errs, fmt.Errorf("updateMode is %q, want UpdateWithInstall so the new version lays down its service", h.UpdateMode))
	}
	return m, errors.Join(errs...)
}

// Build writes the handler package of goos to w: the manifest, the
// binary read from binary, and on Linux the unit file for reference.
func Build(w io.Writer, goos, binary string) error {
	manifest, err := Manifest(goos)
	if err != nil {
		return err
	}
	if _, err := CheckManifest(manifest, goos); err != nil {
		return err
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("read the %s binary: %w (build it first: make package)", goos, err)
	}
	zw := zip.NewWriter(w)
	add := func(name string, mode os.FileMode, data []byte) error {
		// A fixed time keeps packages of the same binary identical.
		hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		hdr.SetMode(mode)
		f, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		return err
	}
	if err := add("HandlerManifest.json", 0o644, manifest); err != nil {
		return err
	}
	if err := add(BinaryName(goos), 0o755, bin); err != nil {
		return err
	}
	if goos == "linux" {
		if err := add("akvvm_service.service", 0o644, []byte(SystemdUnit())); err != nil {
			return err
		}
	}
	return zw.Close()
}

// Check opens a built package of goos and checks that its manifest is the
// one of that platform and that it holds the executable.
func Check(data []byte, goos string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("not a zip file: %w", err)
	}
	var manifest []byte
	hasBinary := false
	for _, f := range zr.File {
		switch f.Name {
		case "HandlerManifest.json":
			rc, err := f.Open()
			if err != nil {
				return err
			}
			manifest, err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
		case BinaryName(goos):
			hasBinary = f.UncompressedSize64 > 0 && (goos == "windows" || f.Mode()&0o100 != 0)
		}
	}
	if manifest == nil {
		return errors.New("the package has no HandlerManifest.json at its root")
	}
	if !hasBinary {
		return fmt.Errorf("the package lacks an executable %s", BinaryName(goos))
	}
	_, err = CheckManifest(manifest, goos)
	return err
}
