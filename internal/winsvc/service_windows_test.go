package winsvc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows/svc"
)

// childFlag makes the test binary run as the service under test; the
// service writes "running" and, after a clean stop, "stopped" into the
// directory that follows the flag.
const childFlag = "-akvvm-service-child"

const testService = "akvvm_test_service"

func TestMain(m *testing.M) {
	for i, a := range os.Args {
		if a == childFlag && i+1 < len(os.Args) {
			os.Exit(serviceChild(os.Args[i+1]))
		}
	}
	os.Exit(m.Run())
}

func serviceChild(dir string) int {
	err := Run(testService, func(ctx context.Context) error {
		if err := os.WriteFile(filepath.Join(dir, "running"), nil, 0o600); err != nil {
			return err
		}
		<-ctx.Done()
		return os.WriteFile(filepath.Join(dir, "stopped"), nil, 0o600)
	})
	if err != nil {
		os.WriteFile(filepath.Join(dir, "error"), []byte(err.Error()), 0o600)
		return 1
	}
	return 0
}

// TestServiceLifecycle installs the test binary as a real service, starts
// it, checks that it runs the function, stops it (the function sees its
// context end and returns) and uninstalls it. Under Wine this goes through
// Wine's services.exe.
func TestServiceLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "akvvm-winsvc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, f := range []string{"running", "stopped", "error"} {
			os.Remove(filepath.Join(dir, f)) // os.RemoveAll fails under Wine
		}
		os.Remove(dir)
	})
	_ = Uninstall(ctx, testService) // a leftover of an interrupted run
	cfg := Config{Name: testService, DisplayName: "akvvm test", Description: "akvvm test service", Exe: exe, Args: []string{childFlag, "old"}}
	if err := Install(cfg, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Uninstall(context.Background(), testService) })
	// Installing again replaces the command line.
	cfg.Args = []string{childFlag, dir}
	if err := Install(cfg, nil); err != nil {
		t.Fatalf("second install: %v", err)
	}
	cl, err := CommandLine(testService)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cl, dir) || strings.Contains(cl, " old") {
		t.Fatalf("command line after reinstall = %q", cl)
	}
	if st, err := State(testService); err != nil || st != svc.Stopped {
		t.Fatalf("after install: state %v, %v; want stopped", st, err)
	}
	if err := Start(ctx, testService); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "running")); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "error"))
		t.Fatalf("the service runs but its function did not: %v %s", err, b)
	}
	if err := Start(ctx, testService); err != nil {
		t.Fatalf("starting a running service: %v", err)
	}
	// Restart stops the running function cleanly and starts it again.
	if err := Restart(ctx, testService); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stopped")); err != nil {
		t.Fatalf("restart did not stop the function cleanly: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "stopped")); err != nil {
		t.Fatal(err)
	}
	if st, err := State(testService); err != nil || st != svc.Running {
		t.Fatalf("after restart: state %v, %v; want running", st, err)
	}
	if err := Stop(ctx, testService); err != nil {
		t.Fatal(err)
	}
	if st, err := State(testService); err != nil || st != svc.Stopped {
		t.Fatalf("after stop: state %v, %v; want stopped", st, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stopped")); err != nil {
		t.Fatalf("the function did not finish cleanly on stop: %v", err)
	}
	if err := Stop(ctx, testService); err != nil {
		t.Fatalf("stopping a stopped service: %v", err)
	}
	if err := Uninstall(ctx, testService); err != nil {
		t.Fatal(err)
	}
	if _, err := State(testService); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("after uninstall: %v, want ErrNotInstalled", err)
	}
	if err := Uninstall(ctx, testService); err != nil {
		t.Fatalf("uninstalling a missing service: %v", err)
	}
}

// TestStartOfAMissingServiceSaysHowToInstallIt checks the error a user
// sees before akvvm service install.
func TestStartOfAMissingServiceSaysHowToInstallIt(t *testing.T) {
	err := Start(context.Background(), "akvvm_no_such_service")
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "akvvm service install") {
		t.Fatalf("err = %v", err)
	}
}
