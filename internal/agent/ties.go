package agent

import (
	"slices"
	"strings"
)

// Ties: Key Vault stamps a version's creation in whole seconds, so two
// versions created in one second cannot be ordered from a listing. The
// vault is asked once which of them is current (newest in reconcile.go),
// and the answer is kept per certificate in memory and in the status file
// (CertStatus.Tie), so that neither the unchanged polls after it nor a
// restart ask again. A new version later breaks the tie: its set differs.

// TieStatus is the vault's answer for the versions of a certificate that
// share the newest creation second, as the status file keeps it.
type TieStatus struct {
	// Versions are the tied version ids, sorted.
	Versions []string `json:"versions"`
	// Current is the one the vault named current; empty when the vault
	// refused to say (its current version is disabled).
	Current string `json:"current,omitempty"`
}

// status renders the tie for the status file.
func (t tie) status() *TieStatus {
	if t.set == "" {
		return nil
	}
	return &TieStatus{Versions: strings.Split(t.set, ","), Current: t.answer}
}

// tieFromStatus reads back a tie the status file kept; ok is false for an
// entry without one or with one that cannot be a tie.
func tieFromStatus(s *TieStatus) (tie, bool) {
	if s == nil || len(s.Versions) < 2 {
		return tie{}, false
	}
	vs := slices.Sorted(slices.Values(s.Versions))
	for _, v := range vs {
		if v == "" || strings.Contains(v, ",") {
			return tie{}, false
		}
	}
	if s.Current != "" && !slices.Contains(vs, s.Current) {
		return tie{}, false
	}
	return tie{set: strings.Join(vs, ","), answer: s.Current}, true
}

// tieStatus returns the certificate's remembered tie for the status file.
// The caller holds a.mu.
func (a *Agent) tieStatus(cert string) *TieStatus {
	t, ok := a.ties[cert]
	if !ok {
		return nil
	}
	return t.status()
}

// restoreTies keeps the ties an earlier run wrote to the status file. The
// caller holds a.mu.
func (a *Agent) restoreTies(prev []CertStatus) {
	for _, c := range prev {
		t, ok := tieFromStatus(c.Tie)
		if !ok {
			continue
		}
		if a.ties == nil {
			a.ties = map[string]tie{}
		}
		a.ties[c.Key] = t
	}
}

// forgetTie drops the certificate's remembered tie once its newest
// version stands alone in its second, so the status shows no stale tie.
func (a *Agent) forgetTie(cert string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.ties, cert)
}
