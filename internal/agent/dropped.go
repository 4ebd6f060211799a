package agent

import "github.com/akvvm/akvvm/internal/certbundle"

// warnDropped logs one line naming the certificates of an installed
// version's secret that were left out of the leaf's verified chain, by
// subject, serial and reason.
func (a *Agent) warnDropped(c CertSpec, version string, b *certbundle.Bundle) {
	if len(b.Dropped) == 0 {
		return
	}
	a.log.Warn("the secret holds certificates outside the leaf's verified chain; they were not installed",
		"certificate", c.Key(), "version", version, "dropped", len(b.Dropped), "certificates", certbundle.DroppedList(b.Dropped))
}
