package transport

import "syscall"

// Winsock's codes, which syscall.ECONNRESET and ECONNREFUSED do not match
// on Windows.
const (
	errnoReset   = syscall.Errno(10054) // WSAECONNRESET
	errnoRefused = syscall.Errno(10061) // WSAECONNREFUSED
)
