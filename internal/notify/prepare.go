package notify

import (
	"crypto/x509"
	"log/slog"

	"github.com/akvvm/akvvm/internal/agent"
)

// ReadFunc reads the certificate with a SHA-1 thumbprint from the system
// store storeName at location.
type ReadFunc func(location, storeName, thumbprint string) (*x509.Certificate, error)

// Prepare reads from the store what DecideCurrent needs and decides: the
// previous version's leaf, and the new current version's when e has no
// bundle (an installed version made current again). A leaf that cannot
// be read is logged and the event is still due.
func Prepare(e agent.Event, read ReadFunc, log *slog.Logger) (Record, bool) {
	loc, name := e.Cert.Target.Location, e.Cert.Target.StoreName
	var cur *x509.Certificate
	if e.Bundle != nil {
		cur = e.Bundle.Leaf
	} else {
		c, err := read(loc, name, e.Installed.Thumbprint)
		if err != nil {
			log.Warn("cannot read the version made current again from the store for its names; raising event 1001 anyway",
				"certificate", e.Cert.Key(), "thumbprint", e.Installed.Thumbprint, "error", err)
		}
		cur = c
	}
	var prev *x509.Certificate
	if e.Previous != nil {
		c, err := read(loc, name, e.Previous.Thumbprint)
		if err != nil {
			log.Warn("cannot read the previous version to compare its names; raising event 1001 anyway",
				"certificate", e.Cert.Key(), "thumbprint", e.Previous.Thumbprint, "error", err)
		}
		prev = c
	}
	return DecideCurrent(e, cur, prev)
}
