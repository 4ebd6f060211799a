package notify

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/store"
	"github.com/akvvm/akvvm/internal/wine"
)

// childEnv makes the test binary, run again, write one event and exit.
const childEnv = "AKVVM_NOTIFY_TEST_CHILD"

// TestMain runs the child part when childEnv is set.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(writeOneEvent(mode))
	}
	os.Exit(m.Run())
}

// writeOneEvent raises event 1001 for a renewal (mode "renewal") whose
// previous version shares a name with the new one, or for a rollback
// (mode "rollback") to an installed version read from a fake store.
func writeOneEvent(mode string) int {
	n := &EventLog{Read: func(loc, name, thumb string) (*x509.Certificate, error) {
		if loc != "LocalMachine" || name != "MY" {
			return nil, os.ErrNotExist
		}
		switch {
		case thumb == "OLDTHUMB":
			return leaf("www.example.com"), nil
		case thumb == "NEWTHUMB" && mode == "rollback":
			return leaf("www.example.com", "rollback.example.com"), nil
		}
		return nil, os.ErrNotExist
	}}
	e := event(&store.Installed{Version: "aaaa", Thumbprint: "OLDTHUMB"}, "www.example.com")
	if mode == "rollback" {
		e.Bundle, e.Rollback = nil, true
	}
	if err := n.Notify(context.Background(), e); err != nil {
		os.Stderr.WriteString("child: " + err.Error() + "\n")
		return 1
	}
	return 0
}

// TestEvent1001IsWrittenToTheApplicationLog registers the source, has a
// child process write the event and checks it: under Wine, whose event log
// is a stub, through Wine's eventlog trace on the child's stderr (id, type
// and strings); on Windows by reading the newest akvvm event back.
func TestEvent1001IsWrittenToTheApplicationLog(t *testing.T) {
	checkEvent(t, "renewal", "Kind=Renewal", "SubjectAlternativeNames=DNS:www.example.com")
}

// TestRollbackEvent1001IsWrittenToTheApplicationLog: a version made
// current again after a withdrawal, its names read from the store.
func TestRollbackEvent1001IsWrittenToTheApplicationLog(t *testing.T) {
	checkEvent(t, "rollback", "Kind=Rollback", "SubjectAlternativeNames=DNS:www.example.com, DNS:rollback.example.com",
		"withdrawn in the vault", "rebind OLDTHUMB to NEWTHUMB")
}

// checkEvent has a child process write the event of mode and checks it
// carries the common strings and also these.
func checkEvent(t *testing.T, mode string, also ...string) {
	t.Helper()
	if err := InstallSource(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := RemoveSource(); err != nil {
			t.Error(err)
		}
	})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if v := wine.Version(); v != "" {
		out = childTraceUnderWine(t, exe, mode)
	} else {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+mode)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v\n%s", err, b)
		}
	}
	if out == "" {
		b, err := exec.Command("wevtutil", "qe", "Application", "/q:*[System[Provider[@Name='akvvm'] and (EventID=1001)]]",
			"/c:1", "/rd:true", "/f:xml").CombinedOutput()
		if err != nil {
			t.Fatalf("wevtutil: %v: %s", err, b)
		}
		out = string(b)
	}
	t.Logf("evidence:\n%s", out)
	// Under Wine: ReportEventW(handle, type 4 = information, category 0,
	// id 0x3e9 = 1001, ...).
	idAndType := ",0x0004,0x0000,0x000003e9,"
	if wine.Version() == "" {
		idAndType = "1001</EventID>"
	}
	for _, want := range append([]string{idAndType, "OldThumbprint=OLDTHUMB", "NewThumbprint=NEWTHUMB", "StoreName=MY", "StoreLocation=LocalMachine", "Vault=kv1", "Version=bbbb"}, also...) {
		if !strings.Contains(out, want) {
			t.Errorf("event lacks %q", want)
		}
	}
}

// childTraceUnderWine runs the child as a new Wine process started from a
// Unix shell, so that its Unix standard error, where Wine writes the
// eventlog trace, is a file: a child started with CreateProcess would write
// the trace to this process's standard error instead. The test binary and
// the file live under Z: (the Unix root) so their Unix paths are known.
func childTraceUnderWine(t *testing.T, exe, mode string) string {
	t.Helper()
	unix := func(p string) string {
		if !strings.HasPrefix(strings.ToUpper(p), `Z:\`) {
			t.Skipf("Wine: %s is not under Z: (the Unix root), so its Unix path is unknown", p)
		}
		return strings.ReplaceAll(p[2:], `\`, "/")
	}
	dir, err := os.MkdirTemp(`Z:\tmp`, "akvvm-notify-")
	if err != nil {
		t.Fatal(err)
	}
	errPath := filepath.Join(dir, "stderr.txt")
	t.Cleanup(func() { os.Remove(errPath); os.Remove(dir) }) // os.RemoveAll fails under Wine
	donePath := filepath.Join(dir, "exit.txt")
	t.Cleanup(func() { os.Remove(donePath) })
	script := `WINEDEBUG=-all,+eventlog,fixme+advapi ` + childEnv + `="$3" wine "$0" -test.run='^$' 2>"$1"; echo $? >"$2.tmp"; mv "$2.tmp" "$2"`
	// os.StartProcess, not exec: exec looks for a Windows extension. Wine
	// runs the ELF /bin/sh as a Unix process, which has no handle to wait
	// on: the script reports its end in donePath.
	p, err := os.StartProcess(`Z:\bin\sh`, []string{"sh", "-c", script, unix(exe), unix(errPath), unix(donePath), mode},
		&os.ProcAttr{Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
	if err != nil {
		t.Fatalf("start the child through /bin/sh: %v", err)
	}
	p.Release()
	var code []byte
	for i := 0; ; i++ {
		if code, err = os.ReadFile(donePath); err == nil {
			break
		}
		if i == 1200 {
			t.Fatal("the child did not finish within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var runErr error
	if c := strings.TrimSpace(string(code)); c != "0" {
		runErr = fmt.Errorf("exit code %s", c)
	}
	b, err := os.ReadFile(errPath)
	if err != nil {
		t.Fatalf("child (%v): %v", runErr, err)
	}
	if runErr != nil {
		t.Fatalf("child: %v\n%s", runErr, b)
	}
	return string(b)
}
