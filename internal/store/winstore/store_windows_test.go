package winstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/wine"

	"crypto/x509"

	"github.com/akvvm/akvvm/internal/store"
	"golang.org/x/sys/windows"
)

// seen is what a new process reads back about one installed version.
type seen struct {
	Version, Thumbprint, FriendlyName, Renewal string
	Current                                    bool
}

// TestHelperProcess lists ref at a target in a separate process; the
// other tests run it to prove that installs persist across processes.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("AKVVM_WINSTORE_HELPER") != "list" {
		t.Skip("helper process; run by other tests")
	}
	tg := store.Target{Location: os.Getenv("AKVVM_LOCATION"), StoreName: os.Getenv("AKVVM_STORE")}
	ref := store.Ref{Vault: os.Getenv("AKVVM_VAULT"), Name: os.Getenv("AKVVM_NAME")}
	st, err := openSystemStore(tg.Location, tg.StoreName)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	es := st.managed(tg, ref)
	defer freeEntries(es)
	var out []seen
	for _, e := range es {
		fn, _ := getStringProperty(e.ctx, propFriendlyName)
		ren, _ := getProperty(e.ctx, propRenewal)
		out = append(out, seen{Version: e.rec.Version, Thumbprint: e.thumb, FriendlyName: fn, Renewal: strings.ToUpper(hex.EncodeToString(ren)), Current: e.current})
	}
	b, _ := json.Marshal(out)
	fmt.Printf("\nRESULT %s\n", b)
}

// readBack lists ref at tg from a new process.
func readBack(t *testing.T, tg store.Target, ref store.Ref) []seen {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "AKVVM_WINSTORE_HELPER=list", "AKVVM_LOCATION="+tg.Location, "AKVVM_STORE="+tg.StoreName,
		"AKVVM_VAULT="+ref.Vault, "AKVVM_NAME="+ref.Name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	_, js, ok := strings.Cut(string(out), "RESULT ")
	if !ok {
		t.Fatalf("helper process printed no result:\n%s", out)
	}
	js, _, _ = strings.Cut(js, "\n")
	var got []seen
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatalf("helper result %q: %v", js, err)
	}
	return got
}

var targets = []store.Target{
	{Location: "CurrentUser", StoreName: "MY"},
	{Location: "CurrentUser", StoreName: "TrustedPeople"},
	{Location: "LocalMachine", StoreName: "MY"},
	{Location: "LocalMachine", StoreName: "TrustedPeople"},
}

func TestInstallPutsLeafInStoreIntermediateInCAAndNoRoot(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.Location+"-"+tg.StoreName, func(t *testing.T) {
			s := New(Options{})
			ca := newTestCA(t)
			ref := uniqueRef(t)
			cleanup(t, s, tg, ref, ca)
			c := ca.leaf(t, ref, version(1), "www.example.test")
			got, err := s.Install(context.Background(), tg, c)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != version(1) || got.Thumbprint != thumbprint(c.Leaf.Raw) || !got.NotAfter.Equal(c.Leaf.NotAfter) {
				t.Fatalf("Install returned %+v", got)
			}
			if want := tg.Location + `\` + tg.StoreName + `\` + got.Thumbprint; got.Location != want {
				t.Fatalf("Location = %q, want %q", got.Location, want)
			}
			if ok, _ := findCert(t, tg.Location, tg.StoreName, c.Leaf, 0); !ok {
				t.Fatal("leaf not found by its SHA-1 in the target store")
			}
			if ok, _ := findCert(t, tg.Location, "CA", ca.inter, 0); !ok {
				t.Fatal("intermediate not in the CA store")
			}
			for _, loc := range []string{"CurrentUser", "LocalMachine"} {
				for _, name := range []string{"Root", "CA", "MY", "TrustedPeople"} {
					if ok, _ := findCert(t, loc, name, ca.root, 0); ok {
						t.Errorf("root installed into %s\\%s", loc, name)
					}
				}
			}
			if ok, _ := findCert(t, tg.Location, tg.StoreName, ca.inter, 0); ok {
				t.Error("intermediate installed into the leaf's store")
			}
			back := readBack(t, tg, ref)
			if len(back) != 1 || back[0].Thumbprint != got.Thumbprint || back[0].FriendlyName != ref.Vault+"/"+ref.Name+"/"+version(1) {
				t.Fatalf("a new process sees %+v", back)
			}
		})
	}
}

func TestInstallAgainIsANoOp(t *testing.T) {
	tg := targets[0]
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	c := ca.leaf(t, ref, version(1), "a.example.test")
	first, err := s.Install(context.Background(), tg, c)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Install(context.Background(), tg, c)
	if err != nil {
		t.Fatal(err)
	}
	if !again.InstalledAt.Equal(first.InstalledAt) || again.Thumbprint != first.Thumbprint {
		t.Fatalf("second install changed the record: %+v then %+v", first, again)
	}
	if l, err := s.List(context.Background(), tg, ref); err != nil || len(l) != 1 {
		t.Fatalf("List = %v, %v; want one version", l, err)
	}
}

func TestRenewalLinkAndDeletingTheOldest(t *testing.T) {
	tg := store.Target{Location: "LocalMachine", StoreName: "MY", LinkOnRenewal: true}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	ctx := context.Background()
	var certs []store.Certificate
	for i := 1; i <= 3; i++ {
		c := ca.leaf(t, ref, version(i), "renew.example.test")
		certs = append(certs, c)
		if _, err := s.Install(ctx, tg, c); err != nil {
			t.Fatalf("install version %d: %v", i, err)
		}
	}
	back := readBack(t, tg, ref)
	if len(back) != 3 || !back[0].Current || back[1].Current || back[2].Current {
		t.Fatalf("a new process sees %+v, want 3 versions, the first current", back)
	}
	// Newest first: v3 (no link), v2 → v3, v1 → v2.
	for i, want := range []string{"", thumbprint(certs[2].Leaf.Raw), thumbprint(certs[1].Leaf.Raw)} {
		if back[i].Version != version(3-i) || back[i].Renewal != want {
			t.Errorf("version %s renewal link = %q, want %q (entry %d)", back[i].Version, back[i].Renewal, want, i)
		}
	}
	removed, err := s.Delete(ctx, tg, ref, []string{version(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0].Version != version(1) {
		t.Fatalf("Delete removed %+v, want version 1 only", removed)
	}
	if ok, _ := findCert(t, tg.Location, tg.StoreName, certs[0].Leaf, 0); ok {
		t.Error("pruned version still in the store")
	}
	back = readBack(t, tg, ref)
	if len(back) != 2 || back[0].Version != version(3) || back[1].Version != version(2) {
		t.Fatalf("after pruning a new process sees %+v, want versions 3 and 2", back)
	}
	if ok, _ := findCert(t, tg.Location, "CA", ca.inter, 0); !ok {
		t.Error("pruning removed the shared intermediate")
	}
}

func TestNoRenewalLinkUnlessAsked(t *testing.T) {
	tg := store.Target{Location: "CurrentUser", StoreName: "MY"}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	for i := 1; i <= 2; i++ {
		if _, err := s.Install(context.Background(), tg, ca.leaf(t, ref, version(i), "nolink.example.test")); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range readBack(t, tg, ref) {
		if v.Renewal != "" {
			t.Errorf("version %s linked to %s without LinkOnRenewal", v.Version, v.Renewal)
		}
	}
}

func TestForeignCertificatesAreNeverTouched(t *testing.T) {
	tg := store.Target{Location: "LocalMachine", StoreName: "MY", LinkOnRenewal: true}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	// A foreign certificate named like akvvm's, one with another
	// description, and one that claims the same vault and name in another store.
	lookalike := ca.leaf(t, ref, version(7), "foreign1.example.test").Leaf
	described := ca.leaf(t, ref, version(8), "foreign2.example.test").Leaf
	addForeign(t, tg.Location, tg.StoreName, lookalike, ref.Vault+"/"+ref.Name+"/"+version(7), "")
	addForeign(t, tg.Location, tg.StoreName, described, "mine", "installed by hand")
	ctx := context.Background()
	for i := 1; i <= 2; i++ {
		if _, err := s.Install(ctx, tg, ca.leaf(t, ref, version(i), "ours.example.test")); err != nil {
			t.Fatal(err)
		}
	}
	if l, _ := s.List(ctx, tg, ref); len(l) != 2 {
		t.Fatalf("List = %+v, want only akvvm's two versions", l)
	}
	if _, err := s.Remove(ctx, tg, ref); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cert *x509.Certificate
		desc string
	}{{lookalike, ""}, {described, "installed by hand"}} {
		ok, renewal := findCert(t, tg.Location, tg.StoreName, c.cert, propRenewal)
		if !ok {
			t.Errorf("foreign certificate %s was removed", c.cert.Subject.CommonName)
		}
		if renewal != nil {
			t.Errorf("foreign certificate %s got a renewal link", c.cert.Subject.CommonName)
		}
		if _, d := findCert(t, tg.Location, tg.StoreName, c.cert, propDescription); utf16Prop(d) != c.desc {
			t.Errorf("foreign certificate %s description changed to %q", c.cert.Subject.CommonName, utf16Prop(d))
		}
	}
}

func TestUnknownAccountFailsBeforeAnyChange(t *testing.T) {
	tg := store.Target{Location: "CurrentUser", StoreName: "MY", Accounts: []string{"Network Service", "akvvm-no-such-user-4711"}}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	c := ca.leaf(t, ref, version(1), "acl.example.test")
	_, err := s.Install(context.Background(), tg, c)
	if err == nil || !strings.Contains(err.Error(), `"akvvm-no-such-user-4711"`) {
		t.Fatalf("Install with an unknown account: %v", err)
	}
	if ok, _ := findCert(t, tg.Location, tg.StoreName, c.Leaf, 0); ok {
		t.Error("the certificate was installed although its key permissions could not be built")
	}
}

func TestSecurityDescriptorIsValidForWindows(t *testing.T) {
	sddl, err := KeySecurity([]string{"S-1-5-21-1-2-3-1001"}, []string{"S-1-5-20", "S-1-5-19"})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		t.Fatalf("Windows rejects %q: %v", sddl, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		t.Fatalf("no DACL in %q: %v", sd.String(), err)
	}
	if n := dacl.AceCount; n != 5 {
		t.Fatalf("DACL has %d entries, want 5: %s", n, sd.String())
	}
	ctl, _, err := sd.Control()
	if err != nil || ctl&windows.SE_DACL_PROTECTED == 0 {
		t.Fatalf("DACL not protected from inheritance (%v): %s", err, sd.String())
	}
}

func TestWineDetection(t *testing.T) {
	v := wine.Version()
	t.Logf("wine_get_version: %q", v)
	if os.Getenv("AKVVM_EXPECT_WINE") == "1" && v == "" {
		t.Fatal("AKVVM_EXPECT_WINE=1 but wine_get_version was not found")
	}
}

// The very certificate akvvm is asked to install may already be in the
// store, put there by hand: Install must refuse rather than replace it (and
// take it over, so that a later Delete or Remove would delete it).
func TestInstallRefusesACertificateItDidNotInstall(t *testing.T) {
	tg := store.Target{Location: "LocalMachine", StoreName: "MY"}
	s := New(Options{})
	ca := newTestCA(t)
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, ca)
	c := ca.leaf(t, ref, version(1), "byhand.example.test")
	addForeign(t, tg.Location, tg.StoreName, c.Leaf, "by hand", "installed by hand")
	ctx := context.Background()
	if _, err := s.Install(ctx, tg, c); err == nil {
		t.Error("Install succeeded over a certificate akvvm did not install")
	}
	ok, desc := findCert(t, tg.Location, tg.StoreName, c.Leaf, propDescription)
	if !ok || utf16Prop(desc) != "installed by hand" {
		t.Errorf("the certificate installed by hand was changed: found %v, description %q", ok, utf16Prop(desc))
	}
	if l, _ := s.List(ctx, tg, ref); len(l) != 0 {
		t.Errorf("List = %+v, want nothing: akvvm installed nothing", l)
	}
}
