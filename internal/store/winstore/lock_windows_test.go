package winstore

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

// lockTestDir is a fresh lock directory. Under Wine a Windows process
// cannot remove directories (see docs/windows.md), so removal is best effort.
func lockTestDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "akvvm-locks-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// A change waits for the store's lock held by another holder, gives up
// after LockWait naming the holder's pid, and succeeds once it is free.
func TestLockWaitsAndNamesTheHolder(t *testing.T) {
	dir := lockTestDir(t)
	tg := store.Target{Location: "CurrentUser", StoreName: "MY"}
	ca := newTestCA(t)
	ref := uniqueRef(t)
	var logs bytes.Buffer
	holder := New(Options{LockDir: dir})
	waiter := New(Options{LockDir: dir, LockWait: 300 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	cleanup(t, waiter, tg, ref, ca)
	ctx := context.Background()

	unlock, err := holder.lockStore(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dir + `\currentuser-my.lock`)
	if err != nil || string(b) != fmt.Sprintf("pid %d\n", os.Getpid()) {
		t.Errorf("lock file = %q, %v; want the holder's pid", b, err)
	}
	c := ca.leaf(t, ref, version(1), "lock.example.test")
	_, err = waiter.Install(ctx, tg, c)
	want := fmt.Sprintf("locked by another akvvm process (pid %d) and was not released within", os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "currentuser-my.lock") {
		t.Fatalf("Install while locked: %v; want an error with %q and the lock file", err, want)
	}
	if !strings.Contains(logs.String(), "waiting for another akvvm process") || !strings.Contains(logs.String(), fmt.Sprintf("holder=\"pid %d\"", os.Getpid())) {
		t.Errorf("no waiting line naming the holder:\n%s", logs.String())
	}
	if ok, _ := findCert(t, tg.Location, tg.StoreName, c.Leaf, propDescription); ok {
		t.Fatal("Install imported the certificate without the lock")
	}

	// Released meanwhile: the waiter gets it and installs.
	time.AfterFunc(100*time.Millisecond, unlock)
	waiter.lockWait = 5 * time.Second
	if _, err := waiter.Install(ctx, tg, c); err != nil {
		t.Fatalf("Install after the holder released the lock: %v", err)
	}
	if b, _ := os.ReadFile(dir + `\currentuser-my.lock`); len(b) != 0 {
		t.Errorf("lock file after release = %q, want empty", b)
	}
}

// The second of two stores installing one version finds it under the lock,
// imports nothing and reports it Unchanged; the first install is not.
func TestSecondInstallOfAVersionIsUnchanged(t *testing.T) {
	dir := lockTestDir(t)
	tg := store.Target{Location: "CurrentUser", StoreName: "MY", LinkOnRenewal: true}
	ca := newTestCA(t)
	ref := uniqueRef(t)
	var logs bytes.Buffer
	first := New(Options{LockDir: dir})
	second := New(Options{LockDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	cleanup(t, first, tg, ref, ca)
	ctx := context.Background()
	c := ca.leaf(t, ref, version(1), "twice.example.test")
	in, err := first.Install(ctx, tg, c)
	if err != nil || in.Unchanged {
		t.Fatalf("first Install = %+v, %v; want a change", in, err)
	}
	again, err := second.Install(ctx, tg, c)
	if err != nil || !again.Unchanged || again.Thumbprint != in.Thumbprint || !again.Current {
		t.Fatalf("second Install = %+v, %v; want the same version, current and Unchanged", again, err)
	}
	if strings.Contains(logs.String(), "importing") {
		t.Errorf("the second Install imported the certificate again:\n%s", logs.String())
	}
	if l, err := second.List(ctx, tg, ref); err != nil || len(l) != 1 {
		t.Errorf("List = %+v, %v; want one version", l, err)
	}
	mc, err := second.MakeCurrent(ctx, tg, ref, version(1))
	if err != nil || !mc.Unchanged {
		t.Errorf("MakeCurrent of the current version = %+v, %v; want Unchanged", mc, err)
	}
}

// Without LOCALAPPDATA the CurrentUser lock directory is the known folder.
func TestLockDirWithoutLocalAppData(t *testing.T) {
	want := os.Getenv("LOCALAPPDATA")
	t.Setenv("LOCALAPPDATA", "")
	got, err := lockDirFor("CurrentUser", getenv)
	if err != nil || !strings.EqualFold(got, want+`\akvvm\locks`) {
		t.Errorf("lockDirFor(CurrentUser) = %q, %v; want %q", got, err, want+`\akvvm\locks`)
	}
}
