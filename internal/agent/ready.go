package agent

import "fmt"

// Ready reports whether the initial sync is done and no certificate is in
// error: every certificate was checked by this process, has an installed
// version and its last check succeeded. Otherwise why says what is missing.
func (a *Agent) Ready() (ok bool, why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var unchecked, failing []CertStatus
	for _, c := range a.spec.Certificates {
		st := a.certs[c.Key()]
		switch {
		case st.LastError != "":
			failing = append(failing, *st)
		case st.LastCheck.IsZero() || !st.Installed():
			unchecked = append(unchecked, *st)
		}
	}
	if len(failing) == 0 && len(unchecked) == 0 {
		n := Counts{}
		for _, c := range a.spec.Certificates {
			if c.IsSecret() {
				n.Secrets++
			} else {
				n.Certificates++
			}
		}
		what := "installed"
		if n.Certificates == 0 {
			what = "written"
		}
		return true, fmt.Sprintf("%s %s and checked", n.Total(), what)
	}
	why = ""
	if len(unchecked) > 0 {
		why = fmt.Sprintf("initial sync not done: %s not checked yet", KeyList(keys(unchecked), summaryNames))
	}
	if len(failing) > 0 {
		if why != "" {
			why += "; "
		}
		why += "in error: " + Summarise(failing, func(c CertStatus) string { return c.CauseText() }, true)
	}
	return false, why
}
