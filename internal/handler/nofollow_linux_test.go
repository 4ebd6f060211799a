package handler

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// linkRefusal is what every refusal of a planted link says.
const linkRefusal = " is a symlink; akvvm does not follow links in its store and state directories — remove it"

// plantLink makes p a symbolic link to a file outside the handler
// directory holding content ("" leaves it dangling) and returns the file.
func plantLink(t *testing.T, p, content string) string {
	t.Helper()
	outside := filepath.Join(t.TempDir(), "outside")
	if content != "" {
		if err := os.WriteFile(outside, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(p)
	if err := os.Symlink(outside, p); err != nil {
		t.Fatal(err)
	}
	return outside
}

// assertOutside checks that the file a planted link points at still holds
// content, or still does not exist when content is "".
func assertOutside(t *testing.T, outside, content string) {
	t.Helper()
	data, err := os.ReadFile(outside)
	if content == "" {
		if err == nil {
			t.Errorf("akvvm created %s, where the planted link points", outside)
		}
		return
	}
	if string(data) != content {
		t.Errorf("the planted link's target %s was changed", outside)
	}
}

// A link planted at a file enable reads makes enable fail naming the link;
// the file it points at (plausible content, so a followed link would be
// read without error) is left as it was.
func TestEnableRefusesLinkedFiles(t *testing.T) {
	settings := settingsJSON("/store", "https://myvault.vault.azure.net/secrets/web")
	cases := []struct {
		name    string
		path    func(h *Handler) string
		content string
	}{
		{"mrseq", func(h *Handler) string { return filepath.Join(h.Env.Dir, mrseqFile) }, "7"},
		{"settings", func(h *Handler) string { return SettingsPath(h.Env.ConfigFolder, 0) }, settings},
		{"handed certificates", func(h *Handler) string { return filepath.Join(h.Env.StateDir(), handedFile) }, `{"certificates":[]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, svc, vars := newTestHandler(t, "3.0.1")
			if err := h.Install(context.Background()); err != nil {
				t.Fatal(err)
			}
			writeSettings(t, h, 0, settings)
			vars[SeqEnv] = "0"
			p := tc.path(h)
			outside := plantLink(t, p, tc.content)
			_, err := h.Enable(context.Background())
			if err == nil || !strings.Contains(err.Error(), p+linkRefusal) {
				t.Fatalf("Enable with a link at %s = %v, want %q", p, err, p+linkRefusal)
			}
			assertOutside(t, outside, tc.content)
			for _, c := range svc.calls {
				if c == "restart" {
					t.Errorf("the service was started past the refusal")
				}
			}
		})
	}
}

// The files the handler replaces (service settings, status, heartbeat) are
// read without following a link, and a write replaces the link itself.
func TestWrittenStateFilesReplaceALinkNotItsTarget(t *testing.T) {
	h, _, vars := newTestHandler(t, "3.0.1")
	if err := h.Install(context.Background()); err != nil {
		t.Fatal(err)
	}
	writeSettings(t, h, 0, settingsJSON("/store", "https://myvault.vault.azure.net/secrets/web"))
	vars[SeqEnv] = "0"
	config := plantLink(t, ServiceConfigPath(h.Env.StateDir()), `{"seq":9}`)
	status := plantLink(t, StatusPath(h.Env.StatusFolder, 0), "")
	heartbeat := plantLink(t, h.Env.HeartbeatFile, `[{"version":1.0,"heartbeat":{"status":"ready"}}]`)
	if _, err := ReadServiceConfig(h.Env.StateDir()); err == nil || !strings.Contains(err.Error(), ServiceConfigPath(h.Env.StateDir())+linkRefusal) {
		t.Errorf("ReadServiceConfig of a link = %v", err)
	}
	if _, err := ReadStatus(h.Env.StatusFolder, 0); err == nil || !strings.Contains(err.Error(), StatusPath(h.Env.StatusFolder, 0)+linkRefusal) {
		t.Errorf("ReadStatus of a link = %v", err)
	}
	if _, _, err := ReadHeartbeat(h.Env.HeartbeatFile); err == nil || !strings.Contains(err.Error(), h.Env.HeartbeatFile+linkRefusal) {
		t.Errorf("ReadHeartbeat of a link = %v", err)
	}

	if _, err := h.Enable(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := WriteHeartbeat(h.Env.HeartbeatFile, "ok"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ServiceConfigPath(h.Env.StateDir()), StatusPath(h.Env.StatusFolder, 0), h.Env.HeartbeatFile} {
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s is not a regular file after the write: %v", p, err)
		}
	}
	if cfg, err := ReadServiceConfig(h.Env.StateDir()); err != nil || cfg.Seq != 0 {
		t.Errorf("service config after enable = %+v, %v", cfg, err)
	}
	assertOutside(t, config, `{"seq":9}`)
	assertOutside(t, status, "")
	assertOutside(t, heartbeat, `[{"version":1.0,"heartbeat":{"status":"ready"}}]`)
}

// A link at the stopped marker counts as the marker; it is not followed,
// so a dangling one stops the service too.
func TestStoppedMarkerLinkIsNotFollowed(t *testing.T) {
	h, _, _ := newTestHandler(t, "3.0.1")
	outside := plantLink(t, StoppedMarkerPath(h.Env.StateDir()), "")
	if !IsStopped(h.Env.StateDir()) {
		t.Error("a dangling link at the stopped marker does not count as stopped")
	}
	assertOutside(t, outside, "")
}

// Update copies neither a link in the old state directory nor over one
// in the new.
func TestUpdateDoesNotFollowLinks(t *testing.T) {
	src, dst := tempDir(t), tempDir(t)
	if err := os.WriteFile(filepath.Join(src, "status.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	linkedIn := plantLink(t, filepath.Join(src, serviceConfigFile), `{"seq":9}`)
	linkedOut := plantLink(t, filepath.Join(dst, "status.json"), "")
	n, err := copyMissing(src, dst)
	if err != nil || n != 0 {
		t.Fatalf("copyMissing = %d, %v; want nothing copied", n, err)
	}
	if _, err := os.Lstat(filepath.Join(dst, serviceConfigFile)); err == nil {
		t.Error("a linked file of the old state directory was copied")
	}
	assertOutside(t, linkedIn, `{"seq":9}`)
	assertOutside(t, linkedOut, "")
}
