package emulator

import (
	"errors"
	"net"
)

// StartOn serves the Key Vault and admin API (TLS) on httpsLn and the
// identity endpoint (plain HTTP) on imdsLn until Close, which closes both.
// Start listens on TCP; StartOn lets a caller bring listeners of its own,
// such as the fleet simulation's in-memory ones (bench/fleet), which must
// be visible to Go's synctest so that virtual time advances. IMDSEndpoint
// and AdminURL then name the listeners' addresses.
func (e *Emulator) StartOn(httpsLn, imdsLn net.Listener) error {
	e.srvMu.Lock()
	defer e.srvMu.Unlock()
	if e.started {
		return errors.New("emulator already started")
	}
	return e.serveOn(httpsLn, imdsLn)
}
