package agent

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A symbolic link planted at the status file is not followed: the previous
// status it points at is not read into this run's status, and the next
// write replaces the link itself, leaving its target as it was.
func TestStatusFileLinkIsNotFollowed(t *testing.T) {
	h := newHarness(t)
	h.addVersion(t, "v1", time.Hour)
	outside := filepath.Join(t.TempDir(), "status.json")
	first := h.agent(t, func(d *Deps) { d.StatusFile = outside })
	if s := first.SyncOnce(context.Background()); s.Phase != Success {
		t.Fatalf("first run: %s", s.Message)
	}
	want, err := os.ReadFile(outside)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "status.json")
	if err := os.Symlink(outside, path); err != nil {
		t.Fatal(err)
	}
	refusal := path + " is a symlink; akvvm does not follow links in its store and state directories — remove it"
	if _, err := ReadStatusFile(path); err == nil || !strings.Contains(err.Error(), refusal) {
		t.Fatalf("ReadStatusFile of a link = %v, want %q", err, refusal)
	}

	var logs bytes.Buffer
	h.clock.Advance(time.Hour)
	src := &blockingSource{started: make(chan struct{}, 1), release: make(chan struct{}), err: kvError(503, "ServiceUnavailable", "web")}
	second, err := New(h.spec, Deps{Source: src, Store: newMemStore(), Clock: h.clock, StatusFile: path,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range second.Status().Certificates {
		if c.LastKnown || c.InstalledVersion != "" {
			t.Errorf("the linked status was read into this run's: %+v", c)
		}
	}
	if !strings.Contains(logs.String(), "is a symlink; akvvm does not follow links") {
		t.Errorf("the refusal was not logged: %s", logs.String())
	}
	close(src.release)
	second.SyncOnce(context.Background())
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("the status file is not a regular file after the write: %v, %v", fi, err)
	}
	if got, _ := os.ReadFile(outside); !bytes.Equal(got, want) {
		t.Errorf("the link's target was written")
	}
}
