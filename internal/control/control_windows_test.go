package control

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/akvvm/akvvm/internal/agent"
	"golang.org/x/sys/windows"
)

func TestSyncNowReachesTheServiceOverThePipe(t *testing.T) {
	dir := emptyDir(t)
	l, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	svc := &fakeService{}
	go func() {
		Serve(ctx, l, svc, slog.New(slog.DiscardHandler))
		close(done)
	}()
	st, err := SyncNow(context.Background(), dir)
	if err != nil || st.Message != "checked" || svc.calls.Load() != 1 {
		t.Fatalf("SyncNow = %+v, %v after %d calls", st, err, svc.calls.Load())
	}
	if err := RequestSync(context.Background(), dir); err != nil || svc.queued.Load() != 1 {
		t.Fatalf("RequestSync = %v after %d requests", err, svc.queued.Load())
	}
	// Clients at once: each finds an instance, waiting while all are busy.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := SyncNow(context.Background(), dir)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a concurrent SyncNow: %v", err)
		}
	}
	if _, err := Listen(dir); err == nil || !strings.Contains(err.Error(), "another akvvm service") {
		t.Errorf("a second Listen on a live pipe = %v", err)
	}
	cancel()
	<-done
	l.Close() // returns once the Close that stopped Serve is done
	var none *NoServiceError
	if _, err := SyncNow(context.Background(), dir); !errors.As(err, &none) {
		t.Errorf("SyncNow after the service stopped = %v, want NoServiceError", err)
	}
	// The name is free again for the next service.
	l, err = Listen(dir)
	if err != nil {
		t.Fatalf("Listen after the service stopped: %v", err)
	}
	l.Close()
}

func TestPipeNameFollowsTheStateDirectory(t *testing.T) {
	a, b := PipeName(`C:\ProgramData\akvvm`), PipeName(`c:\programdata\AKVVM\`)
	if a != b || !strings.HasPrefix(a, `\\.\pipe\akvvm-`) {
		t.Errorf("PipeName = %s and %s, want one name under \\\\.\\pipe\\akvvm-", a, b)
	}
	if PipeName(`C:\other`) == a {
		t.Errorf("two state directories share the pipe %s", a)
	}
	empty := emptyDir(t)
	var none *NoServiceError
	if _, err := SyncNow(context.Background(), empty); !errors.As(err, &none) || !strings.Contains(err.Error(), empty) {
		t.Errorf("SyncNow without a service = %v", err)
	}
}

// emptyDir is t.TempDir for a directory left empty: under Wine the cleanup
// of t.TempDir fails ("unlinkat ... Invalid function") while os.Remove of
// an empty directory works.
func emptyDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "akvvm-control-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove the test directory: %v", err)
		}
	})
	return dir
}

// TestPipeDACLAdmitsOnlySystemAdministratorsAndTheUser reads the DACL
// back from a client's handle: protected, and one allowing entry each for
// SYSTEM, Administrators and the service's user. The tests run as one
// user, so that Windows refuses anyone else is not tested here.
func TestPipeDACLAdmitsOnlySystemAdministratorsAndTheUser(t *testing.T) {
	dir := emptyDir(t)
	l, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := dial(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sd, err := windows.GetSecurityInfo(windows.Handle(c.(*pipeConn).Fd()), windows.SE_KERNEL_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("GetSecurityInfo: %v", err)
	}
	ctl, _, err := sd.Control()
	if err != nil || ctl&windows.SE_DACL_PROTECTED == 0 {
		t.Errorf("the DACL is not protected from inherited entries: control %#x, %v (%s)", ctl, err, sd)
	}
	acl, _, err := sd.DACL()
	if err != nil {
		t.Fatalf("the pipe's DACL: %v", err)
	}
	var got []string
	for i := range uint32(acl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(acl, i, &ace); err != nil {
			t.Fatal(err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Mask == 0 {
			t.Errorf("entry %d: type %d, mask %#x; want an allowing entry", i, ace.Header.AceType, ace.Mask)
		}
		got = append(got, (*windows.SID)(unsafe.Pointer(&ace.SidStart)).String())
	}
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"S-1-5-18", "S-1-5-32-544", tu.User.Sid.String()}
	if !slices.Equal(got, want) {
		t.Errorf("the pipe's DACL admits %v, want %v (SYSTEM, Administrators, the user): %s", got, want, sd)
	}
}

// TestAClientThatGoesAwayEndsItsWait: a Ctrl-C of sync --now closes the
// pipe, and the service's SyncNow sees its context end.
func TestAClientThatGoesAwayEndsItsWait(t *testing.T) {
	dir := emptyDir(t)
	l, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	svc := &blockingService{started: make(chan struct{}), ended: make(chan error, 1)}
	go Serve(context.Background(), l, svc, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := SyncNow(ctx, dir)
		errc <- err
	}()
	<-svc.started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("SyncNow after its context ended = %v, want context.Canceled", err)
	}
	select {
	case err := <-svc.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the service's pass ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the service still waits 10 s after the client went away")
	}
}

// blockingService's SyncNow waits until its context ends.
type blockingService struct {
	started chan struct{}
	ended   chan error
}

func (b *blockingService) SyncNow(ctx context.Context) (agent.Status, error) {
	close(b.started)
	<-ctx.Done()
	b.ended <- ctx.Err()
	return agent.Status{}, ctx.Err()
}

func (b *blockingService) RequestSync() error { return nil }
