//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
)

// Change detection (docs/architecture.md, "Change detection"): what an
// unchanged poll costs, counted by the emulator, per pass of the agent.
// The agent logs one Debug line per vault per pass (JSON, nanosecond
// times); passes run one after another, so the requests to a vault logged
// between two of its lines are exactly those of the later pass.

// passLine is the agent's Debug line for one vault in one pass.
type passLine struct {
	Time            time.Time `json:"time"`
	Msg             string    `json:"msg"`
	Vault           string    `json:"vault"`
	Strategy        string    `json:"strategy"`
	Checks          int       `json:"checks"`
	VaultListPages  int       `json:"vaultListPages"`
	VersionListings int       `json:"versionListings"`
}

// logLines returns the daemon's JSON log lines with message msg for vault
// ("" = any).
func (d *daemon) logLines(t *testing.T, msg, vault string) []passLine {
	t.Helper()
	var out []passLine
	sc := bufio.NewScanner(strings.NewReader(d.out.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l passLine
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Msg != msg {
			continue
		}
		if vault == "" || strings.Contains(l.Vault, "//"+vault+".") {
			out = append(out, l)
		}
	}
	return out
}

// pollCost is what some passes over one vault cost.
type pollCost struct {
	passes, checks                  int
	listSecrets, listVersions, gets int
	strategies                      map[string]int
}

// measure waits for the first pass line of vault that ready accepts and
// for passes more, and counts the requests of those passes in the
// emulator's request log.
func measure(t *testing.T, e *emu, d *daemon, vault string, passes int, ready func(passLine) bool) pollCost {
	t.Helper()
	var lines []passLine
	start := -1
	waitFor(t, fmt.Sprintf("%d unchanged passes over %s", passes, vault), func() (bool, string) {
		lines = d.logLines(t, "change detection", vault)
		start = -1
		for i, l := range lines {
			if ready(l) {
				start = i
				break
			}
		}
		return start >= 0 && len(lines) > start+passes, fmt.Sprintf("%d passes, settled at %d: %+v", len(lines), start, lines[max(0, len(lines)-3):])
	})
	from, to := lines[start].Time, lines[start+passes].Time
	c := pollCost{passes: passes, strategies: map[string]int{}}
	for _, l := range lines[start+1 : start+passes+1] {
		c.checks += l.Checks
		c.strategies[l.Strategy]++
	}
	for _, r := range e.requests(t, "") {
		if !strings.EqualFold(r.Vault, vault) || !r.Time.After(from) || r.Time.After(to) {
			continue
		}
		switch r.Op {
		case emulator.OpListSecrets:
			c.listSecrets++
		case emulator.OpListVersions:
			c.listVersions++
		case emulator.OpGetSecret:
			c.gets++
		}
	}
	return c
}

// unchanged accepts a pass line of a vault whose checks all reused or
// listed nothing new: the steady state.
func unchanged(strategy string, checks int) func(passLine) bool {
	return func(l passLine) bool {
		return l.Strategy == strategy && l.Checks == checks && (strategy == agent.StrategyPerSecret || l.VersionListings == 0)
	}
}

func detectionSettings(t *testing.T, b *box, e *emu, vaultNames map[string][]string) {
	t.Helper()
	var certs []map[string]any
	for vault, names := range vaultNames {
		for _, n := range names {
			certs = append(certs, map[string]any{"url": "https://" + vault + ".vault.azure.net/secrets/" + n})
		}
	}
	b.writeSettingsWith(t, e, map[string]any{"pollingIntervalInS": "1"}, nil, certs...)
}

func ec(name string) emulator.CertificateSpec {
	return emulator.CertificateSpec{KeyType: "EC-P256", DNSNames: []string{name + ".example.com"}}
}

func TestUnchangedPollCostDoesNotGrowWithHistory(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "longvault", "shortvault")
	e.create(t, "longvault", "old", ec("old"))
	for range 58 {
		e.rotate(t, "longvault", "old")
	}
	// The newest version alone in its creation second, as versions days
	// apart are (a tie of many would be remembered whole, or not at all).
	nextSecond()
	e.rotate(t, "longvault", "old")
	e.create(t, "shortvault", "new", ec("new"))
	b := newBox(t)
	detectionSettings(t, b, e, map[string][]string{"longvault": {"old"}, "shortvault": {"new"}})
	d := b.startRunArgs(t, e, "--log-json")

	long := measure(t, e, d, "longvault", 5, func(l passLine) bool { return l.Checks == 1 && l.VersionListings == 0 && l.VaultListPages == 1 })
	short := measure(t, e, d, "shortvault", 5, func(l passLine) bool { return l.Checks == 1 && l.VersionListings == 1 })
	perPoll := func(c pollCost) float64 { return float64(c.listSecrets+c.listVersions+c.gets) / float64(c.checks) }
	t.Logf("60 versions: %+v (%.2f requests per unchanged poll); 1 version: %+v (%.2f)", long, perPoll(long), short, perPoll(short))
	if perPoll(long) != 1 || perPoll(short) != 1 || long.gets+short.gets != 0 {
		t.Errorf("requests per unchanged poll: %.2f with 60 versions, %.2f with 1; want 1 and 1, no downloads", perPoll(long), perPoll(short))
	}
	if long.listVersions != 0 {
		t.Errorf("the 60-version secret listed its versions %d times in %d unchanged polls", long.listVersions, long.checks)
	}
}

func TestVaultWideForManySecretsPerSecretForFewOfALargeVault(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "widevault", "bigvault")
	var wide []string
	for i := range 200 {
		name := fmt.Sprintf("c%03d", i)
		e.create(t, "widevault", name, ec(name))
		wide = append(wide, name)
	}
	if _, err := e.admin.FillSecrets(t.Context(), "bigvault", emulator.FillSpec{Prefix: "filler", Count: 1998}); err != nil {
		t.Fatal(err)
	}
	e.create(t, "bigvault", "api", ec("api"))
	e.create(t, "bigvault", "web", ec("web"))
	b := newBox(t)
	detectionSettings(t, b, e, map[string][]string{"widevault": wide, "bigvault": {"api", "web"}})
	d := b.startRunArgs(t, e, "--log-json")

	// 200 of 200: 8 pages of the vault listing per poll, no version listing.
	w := measure(t, e, d, "widevault", 4, unchanged(agent.StrategyVaultWide, 200))
	t.Logf("200 of a vault of 200: %+v", w)
	if w.listVersions != 0 || w.gets != 0 || w.listSecrets != 8*w.passes || w.checks != 200*w.passes {
		t.Errorf("200 of 200: %d version listings, %d gets, %d vault pages in %d passes of %d checks; want 0, 0, 8 per pass, 200 checks each",
			w.listVersions, w.gets, w.listSecrets, w.passes, w.checks)
	}

	// 2 of 2,000: each secret's versions, one request each; learning that
	// the vault is larger took at most a page or so.
	big := measure(t, e, d, "bigvault", 6, func(l passLine) bool { return l.VersionListings > 0 })
	t.Logf("2 of a vault of 2,000: %+v", big)
	// The one-time page or so that learns the vault's size may fall in the
	// measured passes (when the jitter first makes both secrets due
	// together); it is bounded below, over the whole run.
	if big.listVersions != big.checks || big.strategies[agent.StrategyVaultWide] != 0 {
		t.Errorf("2 of 2,000: %d version listings for %d checks, strategies %v; want one listing per check and never vault-wide", big.listVersions, big.checks, big.strategies)
	}
	explored := 0
	for _, r := range e.requests(t, emulator.OpListSecrets) {
		if r.Vault == "bigvault" {
			explored++
		}
	}
	if explored > 3 {
		t.Errorf("learning the size of a vault of 2,000 for 2 secrets took %d pages, want at most 3", explored)
	}

	chosen := d.logLines(t, "change detection strategy", "widevault")
	if len(chosen) == 0 || len(chosen) > 2 || chosen[len(chosen)-1].Strategy != agent.StrategyVaultWide {
		t.Errorf("strategy lines for widevault: %+v; want it chosen once (at most after a first per-secret line), vault-wide", chosen)
	}
	st := b.status(t)
	got := map[string]string{}
	for _, v := range st.Detection {
		got[v.Vault] = v.Strategy + " " + v.VaultListRequests
	}
	// bigvault is listed only in a pass where both its secrets are due
	// together; the jitter may keep them apart.
	if big := got["https://bigvault.vault.azure.net"]; got["https://widevault.vault.azure.net"] != "vault-wide 8" ||
		(big != "per-secret more than 1" && big != "per-secret not measured") {
		t.Errorf("status detection = %+v", st.Detection)
	}
	out, _ := akvvm(t, "status", "--state-dir", b.state)
	if !strings.Contains(out, "Change detection in https://widevault.vault.azure.net: vault-wide, 8 request(s)") {
		t.Errorf("akvvm status does not show the strategy:\n%s", out)
	}
}

func TestVaultWideSeesChangesAtTheNextPoll(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, "chgvault")
	names := []string{"web", "b", "c", "d"}
	first := map[string]string{}
	for _, n := range names {
		first[n] = e.create(t, "chgvault", n, ec(n)).Version
	}
	b := newBox(t)
	detectionSettings(t, b, e, map[string][]string{"chgvault": names})
	d := b.startRunArgs(t, e, "--log-json", "--full-recheck", "6s")
	measure(t, e, d, "chgvault", 1, unchanged(agent.StrategyVaultWide, 4))

	// A rotation moves the item: installed within the next poll (the pass
	// in flight when it happened, or the one after).
	nextSecond()
	rotated := time.Now()
	second := e.rotate(t, "chgvault", "web")
	b.waitInstalled(t, "chgvault/web", second.Version)
	n := passesSince(t, d, "chgvault", rotated, "installed new version", "chgvault/web", second.Version)
	t.Logf("rotation installed in pass %d after it", n)
	if n > 2 {
		t.Errorf("the rotation took %d passes to install, want the next poll", n)
	}

	// Disabling the current version moves the item: the older one is
	// current again at the next poll.
	nextSecond()
	disabled := time.Now()
	if err := e.admin.SetSecretEnabled(t.Context(), "chgvault", "web", second.Version, false); err != nil {
		t.Fatal(err)
	}
	b.waitInstalled(t, "chgvault/web", first["web"])
	n = passesSince(t, d, "chgvault", disabled, "made an installed version current again", "chgvault/web", first["web"])
	t.Logf("disable of the current version acted on in pass %d after it", n)
	if n > 2 {
		t.Errorf("the disable took %d passes to act on, want the next poll", n)
	}

	// Disabling an older installed version does not move the item: the
	// full re-check (--full-recheck 6s here, 24 h by default) removes it.
	if err := e.admin.SetSecretEnabled(t.Context(), "chgvault", "web", second.Version, true); err != nil {
		t.Fatal(err)
	}
	b.waitInstalled(t, "chgvault/web", second.Version)
	withdrawn := time.Now()
	if err := e.admin.SetSecretEnabled(t.Context(), "chgvault", "web", first["web"], false); err != nil {
		t.Fatal(err)
	}
	removed := passesSince(t, d, "chgvault", withdrawn, "removed version", "chgvault/web", first["web"])
	t.Logf("disabled older version removed in pass %d after it, %v later", removed, time.Since(withdrawn).Round(100*time.Millisecond))
	if took := time.Since(withdrawn); took > 6*time.Second+3*time.Second || removed < 2 {
		t.Errorf("the disabled older version was removed after %v and %d passes, want after a few unchanged polls, within the full re-check period (6 s) and a poll", took, removed)
	}
}

// passesSince counts the vault's passes from the first that ended after
// from up to the one that made version of cert current (logged with msg).
func passesSince(t *testing.T, d *daemon, vault string, from time.Time, msg, cert, version string) int {
	t.Helper()
	var at time.Time
	waitFor(t, msg+" "+cert+" "+version, func() (bool, string) {
		sc := bufio.NewScanner(strings.NewReader(d.out.String()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l struct {
				Time        time.Time `json:"time"`
				Msg         string    `json:"msg"`
				Certificate string    `json:"certificate"`
				Version     string    `json:"version"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == msg && l.Certificate == cert && l.Version == version && l.Time.After(from) {
				at = l.Time
				return true, ""
			}
		}
		return false, "not logged yet"
	})
	n := 1 // the pass that made it current
	for _, l := range d.logLines(t, "change detection", vault) {
		if l.Time.After(from) && l.Time.Before(at) {
			n++
		}
	}
	return n
}
