package filestore

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/store"
)

// testRef is the certificate most tests install.
var testRef = store.Ref{Vault: "exampleVault", Name: "myCertificate"}

// stepClock advances one second on every call, so install order is time order.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

// fixedClock always returns the same instant, to exercise install-order ties.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// newTestStore returns a store logging into a buffer and a store directory
// that does not exist yet.
func newTestStore(t *testing.T) (*Store, string, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	s := New(Options{
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Clock:  &stepClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	})
	return s, filepath.Join(t.TempDir(), "store"), &logs
}

// keyKind selects the key algorithm of a generated certificate.
type keyKind int

const (
	ecKey keyKind = iota
	rsaKey
	edKey
)

func newKey(t testing.TB, kind keyKind) crypto.Signer {
	t.Helper()
	var k crypto.Signer
	var err error
	switch kind {
	case rsaKey:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case edKey:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t testing.TB, cn string, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer, ca bool) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second),
		IsCA:                  ca,
		BasicConstraintsValid: true,
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// newCert returns a version of ref issued by a fresh intermediate and root;
// chainLen 0 gives no chain, 1 the intermediate, 2 intermediate and root.
func newCert(t testing.TB, ref store.Ref, version string, kind keyKind, chainLen int) store.Certificate {
	t.Helper()
	rootKey := newKey(t, ecKey)
	root := issue(t, "Test Root", rootKey.Public(), nil, rootKey, true)
	interKey := newKey(t, ecKey)
	inter := issue(t, "Test Intermediate", interKey.Public(), root, rootKey, true)
	leafKey := newKey(t, kind)
	leaf := issue(t, ref.Name, leafKey.Public(), inter, interKey, false)
	return store.Certificate{
		Ref:     ref,
		Version: version,
		Leaf:    leaf,
		Key:     leafKey,
		Chain:   []*x509.Certificate{inter, root}[:chainLen],
	}
}

// snapshot describes every entry of dir: content and mode of files, target of links.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = "-> " + target
			continue
		}
		if fi.IsDir() {
			out[e.Name()] = fi.Mode().String()
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fi.Mode().String() + " " + string(data)
	}
	return out
}

// assertSameSnapshot compares two snapshots without printing file content,
// which holds private keys.
func assertSameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	var diff []string
	for name, b := range before {
		if a, ok := after[name]; !ok {
			diff = append(diff, "removed "+name)
		} else if a != b {
			diff = append(diff, "changed "+name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			diff = append(diff, "added "+name)
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		t.Errorf("store directory changed: %s", strings.Join(diff, ", "))
	}
}

func mustInstall(t *testing.T, s *Store, target store.Target, c store.Certificate) store.Installed {
	t.Helper()
	in, err := s.Install(t.Context(), target, c)
	if err != nil {
		t.Fatalf("Install %s: %v", c.Version, err)
	}
	return in
}

func versions(ins []store.Installed) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.Version
	}
	return out
}

// discard is a logger that drops everything.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
