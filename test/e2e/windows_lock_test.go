//go:build linux

package e2e

import (
	"context"

	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// Two akvvm.exe processes under Wine (a service and a manual sync --once)
// on one store: a third process (winstoredump) holds akvvm's store lock
// until both have read the store, downloaded the version and wait for the
// lock, then releases it. The first to get the lock imports the version
// and raises event 1001; the second finds it installed under the lock,
// imports nothing and raises no event. Both name the holder's pid while
// they wait.
func TestWindowsTwoProcessesOneStoreUnderWine(t *testing.T) {
	wf := newWinFixture(t, "winlock")
	w, e, vault := wf.w, wf.e, wf.vault
	v := e.create(t, vault, "shared", emulator.CertificateSpec{KeyType: "RSA-2048", DNSNames: []string{"shared.example.com"}})
	settings := wf.writeSettings(t, "settings-lock.json", nil,
		map[string]any{"url": "https://" + vault + ".vault.azure.net/secrets/shared", "certificateStoreName": "MY",
			"certificateStoreLocation": "LocalMachine"})

	release := filepath.Join(w.dir, "release")
	holder := w.start(t, "holder", nil, w.dump, "lock", "LocalMachine", "MY", winPath(release))
	pid := holder.waitFor(t, regexp.MustCompile(`locked pid (\d+)`), time.Minute)[1]
	var syncs []*wineProc
	for _, name := range []string{"service", "manual"} {
		args := []string{"sync", "--once", "--settings", winPath(settings), "--state-dir", winPath(filepath.Join(w.dir, "state-"+name)),
			"--connect-to", "*.vault.azure.net=" + e.ready.HTTPSAddr, "--ca-file", winPath(e.ready.CAFile),
			"--extra-roots", winPath(e.ready.CAFile)}
		syncs = append(syncs, w.start(t, name, []string{"WINEDEBUG=-all,+eventlog,fixme+advapi"}, w.akvvm, args...))
	}
	waiting := regexp.MustCompile(`waiting for another akvvm process to finish with the certificate store.*holder="pid (\d+)"`)
	for _, p := range syncs {
		if got := p.waitFor(t, waiting, 90*time.Second)[1]; got != pid {
			t.Errorf("%s waited for pid %s, want the holder's pid %s", p.name, got, pid)
		}
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var all string
	for _, p := range append(syncs, holder) {
		if code := p.wait(t); code != 0 {
			t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", p.name, code, p.stdout(), p.stderr())
		}
		all += p.stderr()
	}
	for _, c := range []struct {
		what, line string
		want       int
	}{
		{"imports", "importing the ", 1},
		{"installed lines", `msg="installed new version"`, 1},
		{"already-installed lines", `msg="version already installed and current (another akvvm process installed it meanwhile): nothing changed, no event"`, 1},
	} {
		if n := strings.Count(all, c.line); n != c.want {
			t.Errorf("%d %s (%q) across both processes, want %d\n%s", n, c.what, c.line, c.want, all)
		}
	}
	if n := eventsReported(all, "Kind=FirstInstall", "NewThumbprint="+v.Thumbprint); n != 1 {
		t.Errorf("%d events 1001 for the first install of %s across both processes, want 1", n, v.Thumbprint)
	}
	if got := w.dumpStores(t).versions("LocalMachine", "MY", vault, "shared"); len(got) != 1 {
		t.Errorf("LocalMachine\\MY holds %d versions of shared, want 1", len(got))
	}
}

// eventsReported counts the information events 1001 in the trace that
// carry every one of want.
func eventsReported(trace string, want ...string) int {
	n := 0
	for _, call := range strings.Split(trace, "fixme:advapi:ReportEventW (")[1:] {
		if eventReported("fixme:advapi:ReportEventW ("+call, want...) {
			n++
		}
	}
	return n
}

// wineProc is a Windows program running under Wine while the test goes on,
// its output in files.
type wineProc struct {
	name     string
	cmd      *exec.Cmd
	out, err string // the files of stdout and stderr
	done     chan struct{}
	cancel   context.CancelFunc
}

// start runs a Windows program under Wine without waiting for it; it is
// killed at wineRunLimit or when the test ends.
func (w *wineBox) start(t *testing.T, name string, env []string, exe string, args ...string) *wineProc {
	t.Helper()
	p := &wineProc{name: name, out: filepath.Join(w.dir, name+".stdout"), err: filepath.Join(w.dir, name+".stderr"), done: make(chan struct{})}
	var files []*os.File
	for _, path := range []string{p.out, p.err} {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wineRunLimit)
	p.cancel = cancel
	p.cmd = exec.CommandContext(ctx, "wine", append([]string{exe}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = files[0], files[1]
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		for _, f := range files {
			f.Close()
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

func (p *wineProc) stdout() string { b, _ := os.ReadFile(p.out); return string(b) }
func (p *wineProc) stderr() string { b, _ := os.ReadFile(p.err); return string(b) }

// waitFor waits until stdout or stderr matches re and returns the match.
func (p *wineProc) waitFor(t *testing.T, re *regexp.Regexp, limit time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if m := re.FindStringSubmatch(p.stdout() + p.stderr()); m != nil {
			return m
		}
		select {
		case <-p.done:
			if m := re.FindStringSubmatch(p.stdout() + p.stderr()); m != nil {
				return m
			}
			t.Fatalf("%s ended without %q\nstdout:\n%s\nstderr:\n%s", p.name, re, p.stdout(), p.stderr())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q within %v\nstdout:\n%s\nstderr:\n%s", p.name, re, limit, p.stdout(), p.stderr())
		}
	}
}

// wait waits for the program to end and returns its exit code (-1 when
// it was killed).
func (p *wineProc) wait(t *testing.T) int {
	t.Helper()
	<-p.done
	if p.cmd.ProcessState == nil {
		t.Fatalf("%s: no exit status", p.name)
	}
	return p.cmd.ProcessState.ExitCode()
}
