//go:build !windows

package transport

import "syscall"

// The same codes as syscall's on Unix; Windows has its own (Winsock).
const (
	errnoReset   = syscall.ECONNRESET
	errnoRefused = syscall.ECONNREFUSED
)
