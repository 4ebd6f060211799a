package transport

import (
	"errors"
	"io"
	"syscall"
)

// ConnError is a request whose connection failed before the whole answer
// arrived: refused, reset by the peer, or closed early. Go names these only
// "EOF" or "unexpected EOF"; ConnError says what happened and to which host.
type ConnError struct {
	// Host is the host the connection went to.
	Host string
	// What says what happened, such as "reset by the peer".
	What string
	// Err is the error Go returned.
	Err error
}

// Error reads like "connection to myvault.vault.azure.net reset by the
// peer (connection reset by peer) before the response was complete".
func (e *ConnError) Error() string { return "connection to " + e.Host + " " + e.What }

// Unwrap returns the error Go returned.
func (e *ConnError) Unwrap() error { return e.Err }

// NameConnError returns err as a ConnError naming host when the connection
// was refused, reset or closed before the answer was complete; any other
// error comes back unchanged.
func NameConnError(host string, err error) error {
	if err == nil {
		return nil
	}
	var ce *ConnError
	if errors.As(err, &ce) {
		return err
	}
	const cut = ": a proxy, firewall or load balancer on the way may be cutting connections; akvvm retries"
	var what string
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		what = "closed before the response was complete (unexpected EOF)" + cut
	case isReset(err):
		what = "reset by the peer (connection reset by peer) before the response was complete" + cut
	case errors.Is(err, io.EOF):
		what = "closed by the peer before any response arrived (EOF)" + cut
	case isRefused(err):
		what = "refused (connection refused): nothing listens at that address, or a firewall rejects the connection"
	default:
		return err
	}
	return &ConnError{Host: host, What: what, Err: err}
}

// isReset reports a connection reset by the peer.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, errnoReset)
}

// isRefused reports a refused connection.
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, errnoRefused)
}
