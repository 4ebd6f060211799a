package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxSocketPath is the longest path a Unix socket address holds.
const maxSocketPath = 107

// endpoint names the control channel of stateDir in messages.
func endpoint(stateDir string) string { return SocketPath(stateDir) }

// Listen makes the control socket of stateDir, mode 0600, owned by the
// calling user. A stale socket (no one accepts on it) is removed; a live
// one, a symbolic link or any other file there is refused. Call it before
// other goroutines create files (it sets the umask for a moment).
func Listen(stateDir string) (net.Listener, error) {
	path := SocketPath(stateDir)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("control socket %s: the path is longer than the %d bytes a socket address holds; use a shorter --state-dir", path, maxSocketPath)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	// The umask keeps the socket 0600 from the moment bind makes it. It is
	// process-wide: call Listen before the agent runs.
	old := unix.Umask(0o177)
	l, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return l, nil
}

// removeStale removes a socket at path that no one accepts on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("control socket %s is a symbolic link: refusing to follow it; remove it", path)
	case fi.Mode()&fs.ModeSocket == 0:
		return fmt.Errorf("control socket %s exists and is not a socket (%s); remove it", path, fi.Mode().Type())
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: another akvvm service already uses this state directory", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control socket %s: is another service using it? %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove the stale control socket: %w", err)
	}
	return nil
}

// dial connects to the control socket of stateDir, refusing anything but
// a socket there.
func dial(ctx context.Context, stateDir string) (net.Conn, error) {
	path := SocketPath(stateDir)
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &NoServiceError{StateDir: stateDir, Err: fmt.Errorf("%s does not exist", path)}
	}
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("control socket %s is a symbolic link: refusing to follow it", path)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return nil, fmt.Errorf("control socket %s is not a socket (%s)", path, fi.Mode().Type())
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, &NoServiceError{StateDir: stateDir, Err: fmt.Errorf("%s is left from a service that stopped", path)}
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("control socket %s belongs to another user: run akvvm sync --now as the service's user or root: %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return c, nil
}

// allowed admits a peer running as the service's user or as root.
func allowed(c net.Conn) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("not a Unix connection: %T", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return fmt.Errorf("peer credentials: %w", err)
	}
	if cerr != nil {
		return fmt.Errorf("peer credentials: %w", cerr)
	}
	if cred.Uid != 0 && int(cred.Uid) != os.Getuid() {
		return fmt.Errorf("peer uid %d (pid %d) is neither the service's user (uid %d) nor root", cred.Uid, cred.Pid, os.Getuid())
	}
	return nil
}
