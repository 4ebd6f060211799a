package notify

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/certbundle"
	"github.com/akvvm/akvvm/internal/store"
)

func leaf(dns ...string) *x509.Certificate {
	return &x509.Certificate{Subject: pkix.Name{CommonName: "web"}, DNSNames: dns}
}

func event(prev *store.Installed, dns ...string) agent.Event {
	ref := store.Ref{Vault: "kv1", Name: "web"}
	return agent.Event{
		Cert:     agent.CertSpec{Ref: ref, Target: store.Target{Location: "LocalMachine", StoreName: "MY"}},
		Previous: prev,
		Installed: store.Installed{Ref: ref, Version: "bbbb", Thumbprint: "NEWTHUMB",
			NotAfter: time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)},
		Bundle: &certbundle.Bundle{Leaf: leaf(dns...)},
	}
}

func TestFirstInstallRaisesTheEvent(t *testing.T) {
	r, due := Decide(event(nil, "www.example.com"), nil)
	if !due || r.Kind != FirstInstall || r.OldThumbprint != "" {
		t.Fatalf("first install: due=%v record=%+v", due, r)
	}
}

func TestRenewalRaisesTheEventOnlyWhenASANIsShared(t *testing.T) {
	prevRec := &store.Installed{Version: "aaaa", Thumbprint: "OLDTHUMB"}
	cases := []struct {
		name string
		old  *x509.Certificate
		new  []string
		due  bool
	}{
		{"same names", leaf("www.example.com"), []string{"www.example.com"}, true},
		{"one name in common, case and trailing dot ignored", leaf("WWW.example.com.", "old.example.com"), []string{"www.example.com", "new.example.com"}, true},
		{"no name in common", leaf("old.example.com"), []string{"www.example.com"}, false},
		{"previous not readable from the store", nil, []string{"www.example.com"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, due := Decide(event(prevRec, c.new...), c.old)
			if due != c.due {
				t.Fatalf("due = %v, want %v", due, c.due)
			}
			if r.Kind != Renewal || r.OldThumbprint != "OLDTHUMB" || r.NewThumbprint != "NEWTHUMB" {
				t.Fatalf("record = %+v", r)
			}
		})
	}
}

func TestReinstallOfTheSameCertificateRaisesNothing(t *testing.T) {
	_, due := Decide(event(&store.Installed{Thumbprint: "newthumb"}, "a"), leaf("a"))
	if due {
		t.Fatal("the same thumbprint again must not ask for a rebind")
	}
}

func TestSANsCoverEveryKind(t *testing.T) {
	c := leaf("A.example")
	c.IPAddresses = []net.IP{net.ParseIP("10.0.0.1")}
	c.EmailAddresses = []string{"ops@example.com"}
	got := strings.Join(SANs(c), " ")
	if got != "DNS:a.example IP:10.0.0.1 email:ops@example.com" {
		t.Fatalf("SANs = %q", got)
	}
	if SharesSAN([]string{"IP:10.0.0.1"}, []string{"DNS:10.0.0.1"}) {
		t.Fatal("an IP SAN must not match a DNS SAN with the same text")
	}
}

// TestStringsCarryWhatARebindNeeds pins the event's strings: scripts read
// them by position and key.
func TestStringsCarryWhatARebindNeeds(t *testing.T) {
	r, _ := Decide(event(&store.Installed{Thumbprint: "OLDTHUMB"}, "www.example.com"), nil)
	s := r.Strings()
	want := []string{
		"Kind=Renewal", "OldThumbprint=OLDTHUMB", "NewThumbprint=NEWTHUMB", "StoreName=MY",
		"StoreLocation=LocalMachine", "Vault=kv1", "Certificate=web", "Version=bbbb", "Subject=CN=web",
		"SubjectAlternativeNames=DNS:www.example.com", "NotAfter=2027-01-02T03:04:05Z",
	}
	if len(s) != len(want)+1 {
		t.Fatalf("got %d strings: %q", len(s), s)
	}
	for i, w := range want {
		if s[i+1] != w {
			t.Errorf("string %d = %q, want %q", i+1, s[i+1], w)
		}
	}
	msg := s[0]
	for _, w := range []string{"kv1/web", "rebind OLDTHUMB to NEWTHUMB", "StoreName: MY\r\n", "StoreLocation: LocalMachine\r\n"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message lacks %q:\n%s", w, msg)
		}
	}
}
