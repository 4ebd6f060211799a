package control

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSyncNowReachesTheService(t *testing.T) {
	dir := t.TempDir()
	l, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(SocketPath(dir))
	if err != nil || fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v, %v; want a socket with mode 0600", fi.Mode(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := &fakeService{}
	calls := &svc.calls
	go Serve(ctx, l, svc, slog.New(slog.DiscardHandler))
	st, err := SyncNow(context.Background(), dir)
	if err != nil || st.Message != "checked" || calls.Load() != 1 {
		t.Fatalf("SyncNow = %+v, %v after %d calls", st, err, calls.Load())
	}
	if err := RequestSync(context.Background(), dir); err != nil || svc.queued.Load() != 1 {
		t.Fatalf("RequestSync = %v after %d requests", err, svc.queued.Load())
	}
	if _, err := Listen(dir); err == nil || !strings.Contains(err.Error(), "another akvvm service") {
		t.Errorf("a second Listen on a live socket = %v", err)
	}
}

func TestListenRemovesAStaleSocketAndRefusesALink(t *testing.T) {
	dir := t.TempDir()
	// A listener that does not unlink on close leaves a stale socket.
	l, err := net.Listen("unix", SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	var none *NoServiceError
	if _, err := SyncNow(context.Background(), dir); !errors.As(err, &none) {
		t.Errorf("SyncNow on a stale socket = %v, want NoServiceError", err)
	}
	l, err = Listen(dir)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	l.Close()

	other := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), SocketPath(other)); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(other); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Listen on a link = %v", err)
	}
	if _, err := SyncNow(context.Background(), other); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("SyncNow on a link = %v", err)
	}
	empty := t.TempDir()
	_, err = SyncNow(context.Background(), empty)
	if !errors.As(err, &none) || !strings.Contains(err.Error(), "no running akvvm service uses state directory "+empty) {
		t.Errorf("SyncNow without a service = %v", err)
	}
}
