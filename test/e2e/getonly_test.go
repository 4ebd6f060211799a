//go:build linux

package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/emulator"
)

// getOnly grants the machine's identity Get alone on vault, as Azure Arc's
// documentation does: listing the vault's secrets or a secret's versions
// is refused (403 ForbiddenByPolicy).
func getOnly(t *testing.T, e *emu, vault string) {
	t.Helper()
	if err := e.admin.SetAccess(t.Context(), vault, map[string][]emulator.Permission{emulator.SystemAssignedClientID: {emulator.PermGet}}); err != nil {
		t.Fatal(err)
	}
}

// waitNotice waits until the status file shows notice for key.
func (b *box) waitNotice(t *testing.T, key, notice string) {
	t.Helper()
	waitFor(t, key+" notice "+notice, func() (bool, string) {
		s, err := b.statusFile()
		if err != nil {
			return false, err.Error()
		}
		for _, c := range s.Certificates {
			if c.Key == key {
				return strings.Contains(c.Notice, notice), c.Notice + c.LastError
			}
		}
		return false, "no status for " + key
	})
}

// A Get-only identity installs the certificate, installs a rotation, and
// the status says once what it costs; the version listing is refused once
// and not asked again within the day.
func TestGetOnlyIdentity(t *testing.T) {
	t.Parallel()
	const vault = "getonlyvault"
	key := vault + "/web"
	e := startEmulator(t, vault)
	v1 := e.create(t, vault, "web", emulator.CertificateSpec{KeyType: "EC-P256"})
	getOnly(t, e, vault)
	b := newBox(t)
	b.writeSettingsWith(t, e, map[string]any{"pollingIntervalInS": "1"}, nil,
		map[string]any{"url": "https://" + vault + ".vault.azure.net/secrets/web"})
	d := b.startRun(t, e)
	b.waitInstalled(t, key, v1.Version)
	b.waitNotice(t, key, agent.GetOnlyNotice)

	nextSecond()
	v2 := e.rotate(t, vault, "web")
	b.waitInstalled(t, key, v2.Version)
	if got := b.link(t, vault+".web"); got != vault+".web."+v2.Version {
		t.Errorf("link points at %s, want %s", got, vault+".web."+v2.Version)
	}
	s := b.status(t)
	if c := certStatus(t, s, key); c.Notice != agent.GetOnlyNotice || c.LastError != "" {
		t.Errorf("notice %q, error %q; want the get-only notice and no error", c.Notice, c.LastError)
	}
	if s.Phase != agent.Success || strings.Count(s.Message, agent.GetOnlyNotice) != 1 {
		t.Errorf("phase %s, message %q; want success saying the notice once", s.Phase, s.Message)
	}
	if table, code := akvvm(t, "status", "--state-dir", b.state); code != 0 || !strings.Contains(table, agent.GetOnlyNotice) {
		t.Errorf("akvvm status (exit %d) lacks the notice:\n%s", code, table)
	}
	// Unchanged polls: one GET of the current version each, no listing.
	before := len(e.requests(t, emulator.OpGetSecret))
	time.Sleep(3500 * time.Millisecond)
	gets := len(e.requests(t, emulator.OpGetSecret)) - before
	if gets < 2 || gets > 5 {
		t.Errorf("%d GETs in 3.5 s of 1 s polls; want one a poll", gets)
	}
	for _, r := range e.requests(t, emulator.OpGetSecret) {
		if !strings.HasSuffix(strings.TrimSuffix(r.Path, "/"), "/secrets/web") || r.Status != 200 {
			t.Errorf("GET %s answered %d; want only the versionless current secret, answered", r.Path, r.Status)
		}
	}
	if n := len(e.requests(t, emulator.OpListVersions)); n != 1 {
		t.Errorf("%d version listings; want the one refused, then none within 24 h", n)
	}
	// List granted, and SIGHUP: the secret is listed again, the notice goes.
	if err := e.admin.SetAccess(t.Context(), vault, map[string][]emulator.Permission{emulator.SystemAssignedClientID: {emulator.PermGet, emulator.PermList}}); err != nil {
		t.Fatal(err)
	}
	d.signal(t, syscall.SIGHUP)
	waitFor(t, "the notice to go after List was granted", func() (bool, string) {
		s, err := b.statusFile()
		if err != nil {
			return false, err.Error()
		}
		c := certStatus(t, s, key)
		return c.Notice == "" && c.LastError == "", c.Notice + c.LastError
	})
	d.stop(t)
	for _, r := range e.requests(t, emulator.OpListVersions)[1:] {
		if r.Status != 200 {
			t.Errorf("a version listing after List was granted answered %d", r.Status)
		}
	}
}

// Two versions created in one second: the vault is asked once which is
// current, that download is the install, and neither unchanged polls nor a
// restart download the value again (the answer is kept in status.json).
func TestTiedVersionsDownloadOnce(t *testing.T) {
	t.Parallel()
	const vault = "tiedvault"
	key := vault + "/web"
	e := startEmulator(t, vault)
	b := newBox(t)
	b.writeSettingsWith(t, e, map[string]any{"pollingIntervalInS": "1"}, nil,
		map[string]any{"url": "https://" + vault + ".vault.azure.net/secrets/web"})
	e.create(t, vault, "web", emulator.CertificateSpec{KeyType: "EC-P256"})
	if out, code := b.sync(t, e); code != 0 {
		t.Fatalf("initial sync exit %d:\n%s", code, out)
	}
	var last emulator.SecretVersion
	for try := 0; ; try++ {
		nextSecond()
		e.rotate(t, vault, "web")
		last = e.rotate(t, vault, "web")
		if sameSecond(t, e, vault) {
			break
		}
		if try == 3 {
			t.Fatal("could not create two versions in one second")
		}
	}
	if err := e.admin.ResetLog(t.Context()); err != nil {
		t.Fatal(err)
	}
	d := b.startRunArgs(t, e, "--log-json")
	b.waitInstalled(t, key, last.Version)
	passes(t, d, vault, 4)
	d.stop(t)
	if c := certStatus(t, b.status(t), key); c.Tie == nil || c.Tie.Current != last.Version || len(c.Tie.Versions) != 2 {
		t.Errorf("status tie = %+v; want %s of two", c.Tie, last.Version)
	}
	d = b.startRunArgs(t, e, "--log-json")
	passes(t, d, vault, 4)
	d.stop(t)
	current, byID := 0, 0
	for _, r := range e.requests(t, emulator.OpGetSecret) {
		if strings.HasSuffix(strings.TrimSuffix(r.Path, "/"), "/secrets/web") {
			current++
		} else {
			byID++
		}
	}
	if current != 1 || byID != 0 {
		t.Errorf("over 8 polls and a restart: %d GETs of the current version and %d by version id; want 1 and 0 (the answer is the install)", current, byID)
	}
	if lists := len(e.requests(t, emulator.OpListVersions)); lists < 8 {
		t.Errorf("%d version listings in 8 polls; want one a poll", lists)
	}
}

// sameSecond reports whether the two newest versions of vault's web share
// their creation second.
func sameSecond(t *testing.T, e *emu, vault string) bool {
	t.Helper()
	var created []time.Time
	pager := e.secretsClient(t, vault).NewListSecretPropertiesVersionsPager("web", nil)
	for pager.More() {
		page, err := pager.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Value {
			created = append(created, *p.Attributes.Created)
		}
	}
	newest, n := time.Time{}, 0
	for _, c := range created {
		switch {
		case c.After(newest):
			newest, n = c, 1
		case c.Equal(newest):
			n++
		}
	}
	return n == 2
}

// passes waits until the daemon has logged n passes over vault.
func passes(t *testing.T, d *daemon, vault string, n int) {
	t.Helper()
	waitFor(t, "passes over "+vault, func() (bool, string) {
		got := len(d.logLines(t, "change detection", vault))
		return got >= n, time.Now().String()
	})
}

// akvvm doctor with a Get-only identity: the refused listing is a warning
// (!) naming the fix, and doctor exits 0.
func TestDoctorGetOnlyIdentity(t *testing.T) {
	t.Parallel()
	const vault = "docgetonly"
	e := startEmulator(t, vault)
	e.create(t, vault, "web", emulator.CertificateSpec{})
	getOnly(t, e, vault)
	b := newBox(t)
	b.writeSettingsWith(t, e, nil, nil, map[string]any{"url": "https://" + vault + ".vault.azure.net/secrets/web"})
	out, code := akvvm(t, append([]string{"doctor", "--settings", b.settings}, e.agentArgs()...)...)
	t.Logf("akvvm doctor (exit %d):\n%s", code, out)
	if code != 0 {
		t.Errorf("exit %d, want 0: a Get-only identity works", code)
	}
	rest := out
	for _, w := range []string{"✓ secrets get web: allowed",
		"! secrets list web: refused: HTTP 403 ForbiddenByPolicy", "get works", agent.GetOnlyNotice,
		"fix: give this identity (object id ", "the secret permission list in its access policy", "or accept that each poll downloads the value",
		"Result: all 10 checks passed, 1 warning (secrets list web) (exit 0)"} {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("output lacks %q (after the texts before it)", w)
			continue
		}
		rest = rest[i+len(w):]
	}
	if strings.Contains(out, "✗") {
		t.Error("a Get-only identity has a ✗ line")
	}
}
