package agent

import (
	"fmt"

	"github.com/akvvm/akvvm/internal/certbundle"
)

// warnDropped logs one line naming the certificates of an installed
// version's secret that were left out of the leaf's verified chain, by
// subject, serial and reason, and returns the short notice the status
// shows ("" when nothing was left out).
func (a *Agent) warnDropped(c CertSpec, version string, b *certbundle.Bundle) string {
	if len(b.Dropped) == 0 {
		return ""
	}
	a.log.Warn("the secret holds certificates outside the leaf's verified chain; they were not installed",
		"certificate", c.Key(), "version", version, "dropped", len(b.Dropped), "certificates", certbundle.DroppedList(b.Dropped))
	first := b.Dropped[0].String()
	if len(b.Dropped) == 1 {
		return fmt.Sprintf("version %s: 1 certificate of the secret is not in the leaf's verified chain and was not installed: %s", version, first)
	}
	return fmt.Sprintf("version %s: %d certificates of the secret are not in the leaf's verified chain and were not installed, the first %s (the log lists all)", version, len(b.Dropped), first)
}
