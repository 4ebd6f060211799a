package notify

import (
	"bytes"
	"crypto/x509"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/agent"
	"github.com/akvvm/akvvm/internal/store"
)

// storeReader serves leaves by thumbprint from LocalMachine\MY and
// records what was asked.
type storeReader struct {
	certs map[string]*x509.Certificate
	asked []string
}

func (s *storeReader) read(loc, name, thumb string) (*x509.Certificate, error) {
	s.asked = append(s.asked, loc+`\`+name+`\`+thumb)
	if c, ok := s.certs[thumb]; ok && loc == "LocalMachine" && name == "MY" {
		return c, nil
	}
	return nil, errors.New("not in the store")
}

// madeCurrent is an event for a version made current again: no bundle.
func madeCurrent(rollback bool) (agent.Event, *storeReader) {
	e := event(&store.Installed{Version: "aaaa", Thumbprint: "OLDTHUMB"})
	e.Bundle = nil
	e.Rollback = rollback
	return e, &storeReader{certs: map[string]*x509.Certificate{
		"NEWTHUMB": leaf("www.example.com", "api.example.com"),
		"OLDTHUMB": leaf("www.example.com"),
	}}
}

func TestRollbackReadsTheCurrentLeafFromTheStore(t *testing.T) {
	e, rd := madeCurrent(true)
	r, due := Prepare(e, rd.read, slog.New(slog.DiscardHandler))
	if !due {
		t.Fatal("a rollback to a version sharing a name is not due")
	}
	if r.Kind != Rollback || r.OldThumbprint != "OLDTHUMB" || r.NewThumbprint != "NEWTHUMB" || !r.MadeCurrent {
		t.Fatalf("record = %+v", r)
	}
	if r.Subject != "CN=web" || strings.Join(r.SANs, ",") != "DNS:www.example.com,DNS:api.example.com" {
		t.Errorf("subject %q, SANs %q: want them read from the store", r.Subject, r.SANs)
	}
	if want := []string{`LocalMachine\MY\NEWTHUMB`, `LocalMachine\MY\OLDTHUMB`}; strings.Join(rd.asked, " ") != strings.Join(want, " ") {
		t.Errorf("read %q, want %q", rd.asked, want)
	}
	s := r.Strings()
	if s[1] != "Kind=Rollback" || s[2] != "OldThumbprint=OLDTHUMB" || s[3] != "NewThumbprint=NEWTHUMB" || s[9] != "Subject=CN=web" ||
		s[10] != "SubjectAlternativeNames=DNS:www.example.com, DNS:api.example.com" || len(s) != 12 {
		t.Errorf("strings = %q", s)
	}
	for _, w := range []string{"kv1/web current again", "withdrawn in the vault", "rebind OLDTHUMB to NEWTHUMB.\r\n", "Kind: Rollback\r\n"} {
		if !strings.Contains(s[0], w) {
			t.Errorf("message lacks %q:\n%s", w, s[0])
		}
	}
}

// Made current again without a rollback (the withdrawn version is back):
// a renewal, and the message says no download happened.
func TestMadeCurrentAgainForwardsIsARenewal(t *testing.T) {
	e, rd := madeCurrent(false)
	r, due := Prepare(e, rd.read, slog.New(slog.DiscardHandler))
	if !due || r.Kind != Renewal || r.Subject != "CN=web" {
		t.Fatalf("due=%v record=%+v", due, r)
	}
	if msg := r.Message(); !strings.Contains(msg, "made an installed version of Key Vault certificate kv1/web current again: rebind OLDTHUMB to NEWTHUMB.") {
		t.Errorf("message:\n%s", msg)
	}
}

func TestMadeCurrentUnreadableFromTheStoreStillRaisesTheEvent(t *testing.T) {
	e, rd := madeCurrent(true)
	delete(rd.certs, "NEWTHUMB")
	var logs bytes.Buffer
	r, due := Prepare(e, rd.read, slog.New(slog.NewTextHandler(&logs, nil)))
	if !due || r.Kind != Rollback || r.Subject != "" || len(r.SANs) != 0 {
		t.Fatalf("due=%v record=%+v", due, r)
	}
	if !strings.Contains(logs.String(), "NEWTHUMB") || !strings.Contains(logs.String(), "not in the store") {
		t.Errorf("the log does not say why the names are missing:\n%s", logs.String())
	}
}

func TestMadeCurrentSharingNoNameRaisesNothing(t *testing.T) {
	e, rd := madeCurrent(true)
	rd.certs["NEWTHUMB"] = leaf("other.example.com")
	if r, due := Prepare(e, rd.read, slog.New(slog.DiscardHandler)); due {
		t.Fatalf("due for a version sharing no name: %+v", r)
	}
}

// With a bundle the store is read only for the previous version.
func TestWithABundleOnlyThePreviousIsRead(t *testing.T) {
	rd := storeReader{certs: map[string]*x509.Certificate{"OLDTHUMB": leaf("www.example.com")}}
	r, due := Prepare(event(&store.Installed{Thumbprint: "OLDTHUMB"}, "www.example.com"), rd.read, slog.New(slog.DiscardHandler))
	if !due || r.Kind != Renewal || r.MadeCurrent || len(rd.asked) != 1 || rd.asked[0] != `LocalMachine\MY\OLDTHUMB` {
		t.Fatalf("due=%v record=%+v asked=%q", due, r, rd.asked)
	}
	if msg := r.Message(); !strings.Contains(msg, "installed a new version") {
		t.Errorf("message:\n%s", msg)
	}
}
