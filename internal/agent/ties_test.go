package agent

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// Two versions created in one second after v1: the vault is asked once
// which is current, that answer's download is the install, and neither
// the unchanged polls after it nor a new agent on the same status file
// (a restart) download anything again.
func TestTieIsResolvedOnceAndSurvivesARestart(t *testing.T) {
	h := newHarness(t)
	status := filepath.Join(t.TempDir(), "status.json")
	h.addVersion(t, "v1", time.Hour)
	a := h.agent(t, func(d *Deps) { d.StatusFile = status })
	a.SyncOnce(context.Background())
	h.addVersion(t, "aaaa", 0)
	h.addVersion(t, "ffff", 0) // same second; set last, so the vault's current
	_, before := h.src.counts()
	st := a.SyncOnce(context.Background())
	if c := st.Certificates[0]; c.InstalledVersion != "ffff" || c.LastError != "" {
		t.Fatalf("installed %q, error %q; want the vault's current ffff", c.InstalledVersion, c.LastError)
	}
	if _, after := h.src.counts(); after-before != 1 {
		t.Errorf("resolving the tie and installing its answer took %d downloads, want 1 (the answer is the install)", after-before)
	}
	tie := st.Certificates[0].Tie
	if tie == nil || tie.Current != "ffff" || len(tie.Versions) != 2 {
		t.Errorf("status tie = %+v, want ffff of [aaaa ffff]", tie)
	}
	_, before = h.src.counts()
	for range 3 {
		a.SyncOnce(context.Background())
	}
	restarted := h.agent(t, func(d *Deps) { d.StatusFile = status })
	for range 2 {
		restarted.SyncOnce(context.Background())
	}
	if _, after := h.src.counts(); after != before {
		t.Errorf("%d downloads in unchanged polls of a resolved tie, across a restart; want 0", after-before)
	}
	// A newer version breaks the tie, and the status forgets it.
	h.clock.Advance(time.Minute)
	h.addVersion(t, "v4", 0)
	if st := restarted.SyncOnce(context.Background()); st.Certificates[0].InstalledVersion != "v4" || st.Certificates[0].Tie != nil {
		t.Errorf("after a newer version: installed %s, tie %+v; want v4 and no tie", st.Certificates[0].InstalledVersion, st.Certificates[0].Tie)
	}
}

// A tie read back from the status file that cannot be one is ignored.
func TestTieFromStatusRefusesWhatCannotBeATie(t *testing.T) {
	for _, s := range []*TieStatus{nil, {Versions: []string{"a"}, Current: "a"}, {Versions: []string{"a", "b"}, Current: "c"},
		{Versions: []string{"a", "b,c"}}, {Versions: []string{"", "b"}}} {
		if _, ok := tieFromStatus(s); ok {
			t.Errorf("tieFromStatus(%+v) accepted", s)
		}
	}
	if got, ok := tieFromStatus(&TieStatus{Versions: []string{"ffff", "aaaa"}, Current: "ffff"}); !ok || got.set != "aaaa,ffff" || got.answer != "ffff" {
		t.Errorf("tieFromStatus = %+v, %v", got, ok)
	}
}
