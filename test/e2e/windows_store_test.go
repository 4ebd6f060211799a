//go:build linux

package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// The e2e flow of issue 5 with the real Windows certificate store of a Wine
// prefix: the Windows build of akvvm runs under Wine against the emulator
// process (Linux), and a separate Windows process (winstoredump) reads the
// stores back. Certificates are RSA: Wine cannot import ECDSA keys.
//
// Event 1001 (the lifecycle notification) is read from Wine's event-log
// trace on stderr, as Wine's event log is a stub.
func TestWindowsStoreUnderWine(t *testing.T) {
	w := needWine(t)
	vault := "winee2e" + randomHex(t, 4)
	e := startEmulator(t, vault)
	root := readRoot(t, e.ready.CAFile)
	wf := &winFixture{w: w, e: e, vault: vault, root: root}
	t.Cleanup(func() { wf.cleanup(t) })

	t.Run("4.0 install, link, keep two, foreign untouched", wf.test40)
	t.Run("3.0 linkOnRenewal false", wf.test30NoLink)
	t.Run("4.0 chain check refuses an untrusted root", wf.test40UntrustedChain)
	t.Run("4.0 withdrawn version: back, removed, forwards", wf.test40Withdrawn)
}

// test40UntrustedChain: without --extra-roots the emulator's root is not
// trusted, so 4.0 refuses the server-authentication certificate: exit 1,
// the chain error named, and nothing installed.
func (f *winFixture) test40UntrustedChain(t *testing.T) {
	v := f.e.create(t, f.vault, "untrusted", emulator.CertificateSpec{KeyType: "RSA-2048", DNSNames: []string{"untrusted.example.com"}})
	settings := f.writeSettings(t, "settings40-untrusted.json", nil,
		map[string]any{"url": "https://" + f.vault + ".vault.azure.net/secrets/untrusted", "certificateStoreName": "MY",
			"certificateStoreLocation": "CurrentUser"})
	args := []string{"sync", "--once", "--settings", winPath(settings), "--state-dir", winPath(filepath.Join(f.w.dir, "state40u")),
		"--connect-to", "*.vault.azure.net=" + f.e.ready.HTTPSAddr, "--ca-file", winPath(f.e.ready.CAFile)}
	out, errOut, code := f.w.run(t, f.w.akvvm, args...)
	if code != 1 {
		t.Fatalf("4.0 sync of a certificate from an untrusted root: exit %d, want 1\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "failed the chain check") || !strings.Contains(out, "State: error") {
		t.Errorf("status does not name the chain check:\n%s", out)
	}
	if at := f.w.dumpStores(t).everywhere(v.Thumbprint); len(at) > 0 {
		t.Errorf("a certificate that failed the chain check was installed in %v", at)
	}
}

// winFixture is one emulator, one vault and the Wine box the subtests share.
type winFixture struct {
	w       *wineBox
	e       *emu
	vault   string
	root    *x509.Certificate
	foreign string // thumbprint of the certificate akvvm did not install
}

// newWinFixture starts an emulator with a vault named prefix plus random
// hex and returns the fixture, whose cleanup runs when t ends.
func newWinFixture(t *testing.T, prefix string) *winFixture {
	t.Helper()
	w := needWine(t)
	vault := prefix + randomHex(t, 4)
	e := startEmulator(t, vault)
	wf := &winFixture{w: w, e: e, vault: vault, root: readRoot(t, e.ready.CAFile)}
	t.Cleanup(func() { wf.cleanup(t) })
	return wf
}

func (f *winFixture) test40(t *testing.T) {
	spec := emulator.CertificateSpec{KeyType: "RSA-2048"}
	spec.DNSNames = []string{"web.example.com"}
	web := []emulator.SecretVersion{f.e.create(t, f.vault, "web", spec)}
	spec.DNSNames = []string{"api.example.com"}
	api := []emulator.SecretVersion{f.e.create(t, f.vault, "api", spec)}

	// A certificate akvvm did not install, in the same store, named like one of akvvm's.
	foreign := selfSigned(t, "foreign.example.com")
	f.foreign = sha1Hex(foreign.Raw)
	foreignName, foreignDesc := f.vault+"/web/00000000000000000000000000000000", "installed by hand, not by akvvm"
	f.w.addForeign(t, "LocalMachine", "MY", foreign, foreignName, foreignDesc)

	settings := f.writeSettings(t, "settings40.json", nil,
		map[string]any{"url": "https://" + f.vault + ".vault.azure.net/secrets/web", "certificateStoreName": "MY",
			"certificateStoreLocation": "LocalMachine", "accounts": []string{"Network Service"}},
		map[string]any{"url": "https://" + f.vault + ".vault.azure.net/secrets/api", "certificateStoreName": "TrustedPeople",
			"certificateStoreLocation": "CurrentUser"})
	state := filepath.Join(f.w.dir, "state40")
	// 4.0 checks the chain of server-authentication certificates: the
	// emulator's root is trusted through --extra-roots, never through a store.
	sync := func(what string) string {
		t.Helper()
		return f.sync(t, what, settings, state, "--extra-roots", winPath(f.e.ready.CAFile))
	}

	events := sync("initial sync")
	// Event 1001 on first install, for IIS and anyone listening.
	if !eventReported(events, "Kind=FirstInstall", "NewThumbprint="+web[0].Thumbprint, "StoreName=MY", "StoreLocation=LocalMachine") {
		t.Errorf("no event 1001 for the first install of web %s; trace:\n%s", web[0].Thumbprint, events)
	}
	d := f.w.dumpStores(t)
	f.checkVersions(t, d, "LocalMachine", "MY", "web", web)
	f.checkVersions(t, d, "CurrentUser", "TrustedPeople", "api", api)
	// Under Wine CurrentUser stores also show LocalMachine's certificates,
	// but not the other way round: api must not appear at LocalMachine.
	if c, ok := d.find("LocalMachine", "TrustedPeople", api[0].Thumbprint); ok {
		t.Errorf("api was installed at CurrentUser but LocalMachine\\TrustedPeople holds it: %+v", c.FriendlyName)
	}
	f.checkForeign(t, d, foreignName, foreignDesc)

	// Rotation: the new version is installed and the previous one links to it.
	nextSecond()
	web = append(web, f.e.rotate(t, f.vault, "web"))
	api = append(api, f.e.rotate(t, f.vault, "api"))
	events = sync("sync after the first rotation")
	// Event 1001 for the renewal (same SANs): old and new thumbprints, for IIS's rebind.
	if !eventReported(events, "Kind=Renewal", "OldThumbprint="+web[0].Thumbprint, "NewThumbprint="+web[1].Thumbprint, "StoreName=MY", "StoreLocation=LocalMachine") {
		t.Errorf("no renewal event 1001 from %s to %s; trace:\n%s", web[0].Thumbprint, web[1].Thumbprint, events)
	}
	d = f.w.dumpStores(t)
	f.checkVersions(t, d, "LocalMachine", "MY", "web", web)
	f.checkVersions(t, d, "CurrentUser", "TrustedPeople", "api", api)

	// Two more rotations: 4.0 keeps the two newest versions and removes the older ones.
	for range 2 {
		nextSecond()
		web = append(web, f.e.rotate(t, f.vault, "web"))
		api = append(api, f.e.rotate(t, f.vault, "api"))
		sync("sync after a rotation")
	}
	d = f.w.dumpStores(t)
	f.checkVersions(t, d, "LocalMachine", "MY", "web", web[2:])
	f.checkVersions(t, d, "CurrentUser", "TrustedPeople", "api", api[2:])
	for _, v := range append(web[:2], api[:2]...) {
		if at := d.everywhere(v.Thumbprint); len(at) > 0 {
			t.Errorf("%s version %s was pruned but is still in %v", v.Name, v.Version, at)
		}
	}
	f.checkForeign(t, d, foreignName, foreignDesc)
}

func (f *winFixture) test30NoLink(t *testing.T) {
	v := []emulator.SecretVersion{f.e.create(t, f.vault, "legacy", emulator.CertificateSpec{KeyType: "RSA-2048", DNSNames: []string{"legacy.example.com"}})}
	settings := f.writeSettings(t, "settings30.json", map[string]any{"linkOnRenewal": false, "requireInitialSync": true},
		map[string]any{"url": "https://" + f.vault + ".vault.azure.net/secrets/legacy", "certificateStoreName": "MY",
			"certificateStoreLocation": "CurrentUser"})
	state := filepath.Join(f.w.dir, "state30")
	f.sync(t, "3.0 initial sync", settings, state, "--compat", "3.0")
	nextSecond()
	v = append(v, f.e.rotate(t, f.vault, "legacy"))
	f.sync(t, "3.0 sync after a rotation", settings, state, "--compat", "3.0")

	d := f.w.dumpStores(t)
	got := d.versions("CurrentUser", "MY", f.vault, "legacy")
	if len(got) != 2 {
		t.Fatalf("CurrentUser\\MY holds %d versions of legacy, want both (3.0 removes nothing)", len(got))
	}
	for _, sv := range v {
		f.checkInstalled(t, d, "CurrentUser", "MY", "legacy", sv)
	}
	if r := got[v[0].Version].Renewal; r != "" {
		t.Errorf("linkOnRenewal is false but the previous version links to %s", r)
	}
}

// writeSettings writes Windows settings observing certs, with sms added to
// secretsManagementSettings, and returns the file's path.
func (f *winFixture) writeSettings(t *testing.T, file string, sms map[string]any, certs ...map[string]any) string {
	t.Helper()
	m := map[string]any{"pollingIntervalInS": "3600", "observedCertificates": certs}
	maps.Copy(m, sms)
	data, err := json.MarshalIndent(map[string]any{
		"secretsManagementSettings": m,
		"authenticationSettings":    map[string]any{"msiEndpoint": f.e.ready.IMDSEndpoint},
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(f.w.dir, file)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sync runs "akvvm.exe sync --once" under Wine, requires exit 0, and
// returns Wine's event-log trace: the event log is a stub under Wine, so
// the events akvvm reports are read from the +eventlog trace on stderr.
func (f *winFixture) sync(t *testing.T, what, settings, state string, extra ...string) (eventTrace string) {
	t.Helper()
	args := append([]string{"sync", "--once", "--settings", winPath(settings), "--state-dir", winPath(state),
		"--connect-to", "*.vault.azure.net=" + f.e.ready.HTTPSAddr, "--ca-file", winPath(f.e.ready.CAFile)}, extra...)
	out, errOut, code := f.w.runEnv(t, []string{"WINEDEBUG=-all,+eventlog,fixme+advapi"}, f.w.akvvm, args...)
	if code != 0 {
		t.Fatalf("%s: akvvm.exe sync --once under Wine: exit %d\n%s%s", what, code, out, errOut)
	}
	return errOut
}

// eventReported reports whether the trace holds an information event 1001
// carrying every one of want.
func eventReported(trace string, want ...string) bool {
	for _, call := range strings.Split(trace, "fixme:advapi:ReportEventW (")[1:] {
		if !strings.Contains(call, ",0x0004,0x0000,0x000003e9,") {
			continue
		}
		ok := true
		for _, s := range want {
			ok = ok && strings.Contains(call, `L"`+s+`"`)
		}
		if ok {
			return true
		}
	}
	return false
}

// checkInstalled asserts that version v of name is in location\store with
// its key, akvvm's marker and friendly name, its intermediate in CA at the
// same location, and the root in no store at all.
func (f *winFixture) checkInstalled(t *testing.T, d storeDump, location, store, name string, v emulator.SecretVersion) {
	t.Helper()
	c, ok := d.find(location, store, v.Thumbprint)
	if !ok {
		t.Errorf("%s version %s (%s) is not in %s\\%s", name, v.Version, v.Thumbprint, location, store)
		return
	}
	want := marker{Vault: f.vault, Name: name, Version: v.Version, Location: location, Store: store}
	if m, ok := c.marker(); !ok || m != want {
		t.Errorf("%s\\%s %s: akvvm marker %+v (found %v), want %+v", location, store, v.Thumbprint, m, ok, want)
	}
	if wantName := f.vault + "/" + name + "/" + v.Version; c.FriendlyName != wantName {
		t.Errorf("%s\\%s %s: friendly name %q, want %q", location, store, v.Thumbprint, c.FriendlyName, wantName)
	}
	if !c.HasKey {
		t.Errorf("%s\\%s %s: installed without its private key", location, store, v.Thumbprint)
	}
	leaf, err := x509.ParseCertificate(c.DER)
	if err != nil {
		t.Fatal(err)
	}
	var inter bool
	for _, ca := range d[location]["CA"] {
		ic, err := x509.ParseCertificate(ca.DER)
		if err == nil && leaf.CheckSignatureFrom(ic) == nil && ic.CheckSignatureFrom(f.root) == nil {
			inter = true
		}
	}
	if !inter {
		t.Errorf("%s\\CA holds no intermediate that issued %s and chains to the emulator root", location, v.Thumbprint)
	}
	if at := d.everywhere(sha1Hex(f.root.Raw)); len(at) > 0 {
		t.Errorf("the root was installed in %v; akvvm never installs roots", at)
	}
}

// checkVersions asserts that exactly the versions vs (oldest first) of name
// are installed at location\store and each links to the next one.
func (f *winFixture) checkVersions(t *testing.T, d storeDump, location, store, name string, vs []emulator.SecretVersion) {
	t.Helper()
	got := d.versions(location, store, f.vault, name)
	if len(got) != len(vs) {
		var have []string
		for ver := range got {
			have = append(have, ver)
		}
		t.Errorf("%s\\%s holds versions %v of %s, want %d", location, store, have, name, len(vs))
	}
	for i, v := range vs {
		f.checkInstalled(t, d, location, store, name, v)
		want := ""
		if i+1 < len(vs) {
			want = strings.ToUpper(vs[i+1].Thumbprint)
		}
		if r := got[v.Version].Renewal; r != want {
			t.Errorf("%s version %s: renewal link %q, want %q (the next version)", name, v.Version, r, want)
		}
	}
}

// checkForeign asserts the foreign certificate is still there, unchanged.
func (f *winFixture) checkForeign(t *testing.T, d storeDump, friendly, desc string) {
	t.Helper()
	c, ok := d.find("LocalMachine", "MY", f.foreign)
	switch {
	case !ok:
		t.Error("the foreign certificate in LocalMachine\\MY was removed")
	case c.FriendlyName != friendly || c.Description != desc || c.Renewal != "":
		t.Errorf("the foreign certificate was changed: friendly name %q, description %q, renewal %q", c.FriendlyName, c.Description, c.Renewal)
	}
}

// cleanup removes what the test put into the shared prefix: every version
// akvvm installed from the test vault, the emulator's intermediate and the
// foreign certificate.
func (f *winFixture) cleanup(t *testing.T) {
	d := f.w.dumpStores(t)
	seen := map[string]bool{}
	var thumbs []string
	add := func(th string) {
		if th != "" && !seen[th] {
			seen[th] = true
			thumbs = append(thumbs, th)
		}
	}
	add(f.foreign)
	for _, stores := range d {
		for _, certs := range stores {
			for _, c := range certs {
				if m, ok := c.marker(); ok && m.Vault == f.vault {
					add(c.Thumbprint)
				}
				if x, err := x509.ParseCertificate(c.DER); err == nil && x.CheckSignatureFrom(f.root) == nil {
					add(c.Thumbprint)
				}
			}
		}
	}
	f.w.removeCerts(t, thumbs)
}

func readRoot(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM certificate", file)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// selfSigned makes a certificate that no emulator issued.
func selfSigned(t *testing.T, host string) *x509.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: n, Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
