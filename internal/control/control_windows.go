package control

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// pipeBuffer is the size of each pipe buffer; a request or an answer is one
// short JSON line.
const pipeBuffer = 64 << 10

// PipeName returns the named pipe of stateDir: \\.\pipe\akvvm- and a hash
// of the directory's absolute path, case-folded as Windows compares paths.
func PipeName(stateDir string) string {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		abs = stateDir
	}
	sum := sha256.Sum256([]byte(strings.ToLower(filepath.Clean(abs))))
	return `\\.\pipe\akvvm-` + hex.EncodeToString(sum[:8])
}

// endpoint names the control channel of stateDir in messages.
func endpoint(stateDir string) string { return PipeName(stateDir) }

// pipeSDDL returns the pipe's security descriptor: full access for SYSTEM,
// the Administrators group and the service's own user, nothing for anyone
// else, and no inherited entries.
func pipeSDDL() (string, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("control pipe: the service's user: %w", err)
	}
	return "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;" + tu.User.Sid.String() + ")", nil
}

// Listen makes the control pipe of stateDir. Windows has no SO_PEERCRED:
// the pipe's DACL admits only SYSTEM, Administrators and the service's
// user, and remote clients are rejected. A pipe vanishes with the process
// that made it, so nothing is ever stale; a name already taken (another
// service on stateDir, or a squatter) is refused.
func Listen(stateDir string) (net.Listener, error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("control pipe: %w", err)
	}
	sddl, err := pipeSDDL()
	if err != nil {
		return nil, err
	}
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, fmt.Errorf("control pipe: security descriptor: %w", err)
	}
	stop, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("control pipe: %w", err)
	}
	l := &pipeListener{name: PipeName(stateDir), sd: sd, stop: stop}
	if err := l.taken(); err != nil {
		windows.CloseHandle(stop)
		return nil, fmt.Errorf("control pipe %s: another akvvm service already uses state directory %s (or another process holds the name): %w", l.name, stateDir, err)
	}
	if l.next, err = l.instance(true); err != nil {
		windows.CloseHandle(stop)
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) {
			return nil, fmt.Errorf("control pipe %s: another akvvm service already uses state directory %s (or another process holds the name): %w", l.name, stateDir, err)
		}
		return nil, fmt.Errorf("control pipe %s: %w", l.name, err)
	}
	return l, nil
}

// pipeListener accepts clients on a named pipe. One instance always waits
// for the next client, so a client never finds the pipe gone between two
// connections.
type pipeListener struct {
	name string
	sd   *windows.SECURITY_DESCRIPTOR
	stop windows.Handle // set by Close

	mu   sync.Mutex // serializes Accept and guards next
	next windows.Handle
	once sync.Once
}

// taken says whether a pipe of that name exists. FILE_FLAG_FIRST_PIPE_INSTANCE
// says so too, but Wine ignores it.
func (l *pipeListener) taken() error {
	name, err := windows.UTF16PtrFromString(l.name)
	if err != nil {
		return err
	}
	h, err := windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING,
		windows.SECURITY_SQOS_PRESENT|windows.SECURITY_IDENTIFICATION, 0)
	switch {
	case err == nil:
		windows.CloseHandle(h)
		return errors.New("it answers")
	case errors.Is(err, windows.ERROR_FILE_NOT_FOUND):
		return nil
	}
	return err
}

// instance creates one overlapped instance of the pipe.
func (l *pipeListener) instance(first bool) (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString(l.name)
	if err != nil {
		return windows.InvalidHandle, err
	}
	flags := uint32(windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_OVERLAPPED)
	if first {
		flags |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: l.sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	return windows.CreateNamedPipe(name, flags,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		windows.PIPE_UNLIMITED_INSTANCES, pipeBuffer, pipeBuffer, 0, sa)
}

// Accept waits for a client on the waiting instance, makes the next one
// and returns the connection.
func (l *pipeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.next
	if h == windows.InvalidHandle {
		return nil, net.ErrClosed
	}
	if err := l.connect(h); err != nil {
		return nil, err
	}
	next, err := l.instance(false)
	if err != nil {
		windows.CloseHandle(h)
		l.next = windows.InvalidHandle
		return nil, fmt.Errorf("control pipe %s: %w", l.name, err)
	}
	l.next = next
	return newPipeConn(h, l.name)
}

// connect waits until a client opens h or Close is called.
func (l *pipeListener) connect(h windows.Handle) error {
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return fmt.Errorf("control pipe: %w", err)
	}
	defer windows.CloseHandle(ev)
	ov := &windows.Overlapped{HEvent: ev}
	err = windows.ConnectNamedPipe(h, ov)
	switch {
	case err == nil, errors.Is(err, windows.ERROR_PIPE_CONNECTED):
		return nil
	case !errors.Is(err, windows.ERROR_IO_PENDING):
		return fmt.Errorf("control pipe %s: %w", l.name, err)
	}
	which, err := windows.WaitForMultipleObjects([]windows.Handle{ev, l.stop}, false, windows.INFINITE)
	if err != nil || which != windows.WAIT_OBJECT_0 {
		_ = windows.CancelIoEx(h, ov)
	}
	var n uint32
	if err := windows.GetOverlappedResult(h, ov, &n, true); err != nil {
		if which != windows.WAIT_OBJECT_0 {
			return net.ErrClosed
		}
		return fmt.Errorf("control pipe %s: %w", l.name, err)
	}
	if which != windows.WAIT_OBJECT_0 {
		// A client came as Close was called: it is dropped with the pipe.
		_ = windows.DisconnectNamedPipe(h)
		return net.ErrClosed
	}
	return nil
}

// Close stops Accept and removes the waiting instance; served connections
// go on until they end.
func (l *pipeListener) Close() error {
	l.once.Do(func() {
		_ = windows.SetEvent(l.stop)
		l.mu.Lock()
		if l.next != windows.InvalidHandle {
			windows.CloseHandle(l.next)
			l.next = windows.InvalidHandle
		}
		l.mu.Unlock()
		windows.CloseHandle(l.stop)
	})
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.name) }

// pipeAddr is the address of a named pipe.
type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

// pipeConn is one end of a pipe connection. Its handle is overlapped, so
// os.File runs it on the runtime's poller with deadlines.
type pipeConn struct {
	*os.File
	addr pipeAddr
}

func newPipeConn(h windows.Handle, name string) (net.Conn, error) {
	f := os.NewFile(uintptr(h), name)
	if f == nil {
		windows.CloseHandle(h)
		return nil, fmt.Errorf("control pipe %s: not a valid handle", name)
	}
	return &pipeConn{File: f, addr: pipeAddr(name)}, nil
}

func (c *pipeConn) LocalAddr() net.Addr  { return c.addr }
func (c *pipeConn) RemoteAddr() net.Addr { return c.addr }

// dial connects to the control pipe of stateDir, waiting while every
// instance is busy.
func dial(ctx context.Context, stateDir string) (net.Conn, error) {
	name := PipeName(stateDir)
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, fmt.Errorf("control pipe: %w", err)
	}
	for {
		h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING,
			windows.FILE_FLAG_OVERLAPPED|windows.SECURITY_SQOS_PRESENT|windows.SECURITY_IDENTIFICATION, 0)
		switch {
		case err == nil:
			return newPipeConn(h, name)
		case errors.Is(err, windows.ERROR_FILE_NOT_FOUND):
			return nil, &NoServiceError{StateDir: stateDir, Err: fmt.Errorf("no pipe %s", name)}
		case errors.Is(err, windows.ERROR_ACCESS_DENIED):
			return nil, fmt.Errorf("control pipe %s admits only SYSTEM, Administrators and the service's user: run akvvm sync --now elevated or as that user: %w", name, err)
		case !errors.Is(err, windows.ERROR_PIPE_BUSY):
			return nil, fmt.Errorf("control pipe %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// allowed admits every peer: Windows has no SO_PEERCRED, and the pipe's
// DACL already admitted only SYSTEM, Administrators and the service's user.
func allowed(net.Conn) error { return nil }
