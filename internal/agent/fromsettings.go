package agent

import (
	"fmt"
	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/secretfile"
	"github.com/akvvm/akvvm/internal/store"
)

// SpecFromSettings derives what the agent keeps in place from validated
// settings, applying each schema's rules (spec.md §2 and §4):
//   - Windows 4.0 installs the two newest usable versions, keeps two,
//     and checks the chain of server-authentication certificates;
//   - Windows 1.0 and 3.0 install the newest version and remove nothing;
//   - Linux installs the newest version and keeps the two newest files.
func SpecFromSettings(s *config.Settings) Spec {
	spec := Spec{
		Interval:      s.PollingInterval,
		InitialSync:   InitialSync{Wait: s.InitialSync.Wait, MaxAttempts: s.InitialSync.MaxAttempts},
		Versions:      1,
		ExpiryWarning: s.ExpiryWarning,
	}
	switch {
	case s.Schema.Platform == config.Windows && s.Schema.Version == "4.0":
		spec.Versions, spec.Keep, spec.VerifyChain = 2, 2, true
	case s.Schema.Platform == config.Linux:
		spec.Keep = 2
	}
	for _, c := range s.Certificates {
		cs := CertSpec{
			Ref:           store.Ref{Vault: c.URL.Vault, Name: c.URL.Name},
			VaultURL:      c.URL.VaultURL(),
			URL:           c.URL.String(),
			PinnedVersion: c.URL.Version,
			Target:        s.Target(c),

			ActivationDelay: c.ActivationDelay,
		}
		if len(c.ReloadCommand) > 0 {
			cs.Reload = &Hook{Command: c.ReloadCommand, Timeout: c.ReloadTimeout}
		}
		spec.Certificates = append(spec.Certificates, cs)
	}
	for _, sec := range s.Secrets {
		spec.Certificates = append(spec.Certificates, secretSpec(sec))
	}
	uniqueKeys(spec.Certificates)
	for _, w := range s.Warnings {
		spec.Warnings = append(spec.Warnings, w.String())
	}
	return spec
}

// secretSpec is the entry of one observed plain secret.
func secretSpec(sec config.Secret) CertSpec {
	cs := CertSpec{
		Ref:      store.Ref{Vault: sec.URL.Vault, Name: sec.URL.Name},
		VaultURL: sec.URL.VaultURL(),
		URL:      sec.URL.String(),
		Target:   store.Target{Location: sec.Path},
		Secret:   &secretfile.Target{URL: sec.URL.String(), Path: sec.Path, Mode: sec.Mode, Owner: sec.Owner, Group: sec.Group},
	}
	if len(sec.ReloadCommand) > 0 {
		cs.Reload = &Hook{Command: sec.ReloadCommand, Timeout: sec.ReloadTimeout}
	}
	return cs
}

// uniqueKeys gives entries that observe the same secret an ID naming where
// each goes, so their state and status stay apart.
func uniqueKeys(certs []CertSpec) {
	count := map[string]int{}
	for _, c := range certs {
		count[c.Key()]++
	}
	used := map[string]bool{}
	for i := range certs {
		c := &certs[i]
		if count[c.Key()] < 2 {
			continue
		}
		where := c.Target.Location
		if c.Target.StoreName != "" {
			where += `\` + c.Target.StoreName
		}
		if c.PinnedVersion != "" {
			where += " @" + c.PinnedVersion
		}
		id := fmt.Sprintf("%s/%s (%s)", c.Vault, c.Name, where)
		for n := 2; used[id]; n++ {
			id = fmt.Sprintf("%s/%s (%s #%d)", c.Vault, c.Name, where, n)
		}
		used[id] = true
		c.ID = id
	}
}
