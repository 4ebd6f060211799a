package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/store"
)

// passwordFileProblems checks on this machine every PFX password file the
// settings name (outputs.pfx.passwordFile), as the store reads them: each
// problem names the field's path, what is wrong and the fix, never the
// password.
func passwordFileProblems(s *config.Settings) []string {
	var out []string
	for i, c := range s.Certificates {
		if !c.Outputs.PFX || c.Outputs.PFXPasswordFile == "" {
			continue
		}
		pw, err := store.ReadPasswordFile(c.Outputs.PFXPasswordFile)
		clear(pw)
		if err == nil {
			continue
		}
		p := config.Problem{Path: fmt.Sprintf("secretsManagementSettings.observedCertificates[%d].outputs.pfx.passwordFile", i), Message: err.Error()}
		if ne := (*store.NameError)(nil); errors.As(err, &ne) {
			p.Message, p.Hint = ne.Message(), ne.Hint
		}
		out = append(out, p.String())
	}
	return out
}

// printOutputs adds the output files and link kind of a Linux certificate
// to validate's summary.
func printOutputs(b *strings.Builder, c config.Certificate, link string) {
	if o := c.Outputs; o.Any() {
		pfx := ""
		if o.PFX {
			pfx = "; PFX password: empty"
			if o.PFXPasswordFile != "" {
				pfx = "; PFX password from " + o.PFXPasswordFile
			}
		}
		fmt.Fprintf(b, "     outputs:     %s/%s%s/ %s, switched with the link%s\n",
			c.StoreLocation, link, store.OutputsLinkSuffix, strings.Join(o.Files(), ", "), pfx)
	}
	if c.RelativeLinks {
		fmt.Fprintf(b, "     links:       relative to %s\n", c.StoreLocation)
	}
}

// addOutputsView adds the output fields to a certificate of validate
// --json, only when they are set, so the default output stays as it was.
func addOutputsView(v map[string]any, t store.Target) {
	if o := t.Outputs; o.Any() {
		view := map[string]any{"files": o.Files()}
		if o.PFXPasswordFile != "" {
			view["pfxPasswordFile"] = o.PFXPasswordFile
		}
		v["outputs"] = view
	}
	if t.RelativeLinks {
		v["relativeLinks"] = true
	}
}
