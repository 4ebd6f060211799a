package winstore

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/akvvm/akvvm/internal/store"
	"golang.org/x/sys/windows"
)

// testCA is a root and an intermediate that issue test leaves.
type testCA struct {
	root, inter *x509.Certificate
	interKey    *rsa.PrivateKey
}

func newKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t *testing.T, tmpl, parent *x509.Certificate, pub any, priv any) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func serial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	rootKey, interKey := newKey(t), newKey(t)
	now := time.Now()
	rootT := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: "akvvm winstore test root " + t.Name()},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	root := sign(t, rootT, rootT, &rootKey.PublicKey, rootKey)
	interT := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: "akvvm winstore test intermediate " + t.Name()},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(47 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	inter := sign(t, interT, root, &interKey.PublicKey, rootKey)
	return &testCA{root: root, inter: inter, interKey: interKey}
}

// leaf issues a server certificate for host as version of ref.
func (ca *testCA) leaf(t *testing.T, ref store.Ref, version, host string) store.Certificate {
	t.Helper()
	key := newKey(t)
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	return store.Certificate{Ref: ref, Version: version, Leaf: sign(t, tmpl, ca.inter, &key.PublicKey, ca.interKey), Key: key,
		Chain: []*x509.Certificate{ca.inter, ca.root}}
}

// uniqueRef names a certificate no earlier test run installed.
func uniqueRef(t *testing.T) store.Ref {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return store.Ref{Vault: "kv" + hex.EncodeToString(b), Name: strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-")}
}

func version(n int) string { return strings.Repeat("0", 31) + string(rune('0'+n)) }

// cleanup removes what a test installed: every version of ref at t and the
// intermediates of ca.
func cleanup(t *testing.T, s *Store, tg store.Target, ref store.Ref, ca *testCA) {
	t.Helper()
	t.Cleanup(func() {
		if _, err := s.Remove(context.Background(), tg, ref); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if ca != nil {
			removeCert(t, tg.Location, "CA", ca.inter)
		}
	})
}

// findCert returns whether a store holds c (looked up by SHA-1), and the
// value of one of its properties.
func findCert(t *testing.T, location, name string, c *x509.Certificate, prop uint32) (found bool, value []byte) {
	t.Helper()
	st, err := openSystemStore(location, name)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	ctx := st.find(c.Raw)
	if ctx == nil {
		return false, nil
	}
	defer windows.CertFreeCertificateContext(ctx)
	v, _ := getProperty(ctx, prop)
	return true, v
}

// addForeign adds c to a store without akvvm's marker, with a description.
func addForeign(t *testing.T, location, name string, c *x509.Certificate, friendly, desc string) {
	t.Helper()
	st, err := openSystemStore(location, name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &c.Raw[0], uint32(len(c.Raw)))
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CertFreeCertificateContext(ctx)
	if err := setStringProperty(ctx, propFriendlyName, friendly); err != nil {
		t.Fatal(err)
	}
	if desc != "" {
		if err := setStringProperty(ctx, propDescription, desc); err != nil {
			t.Fatal(err)
		}
	}
	if err := windows.CertAddCertificateContextToStore(st.h, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, nil); err != nil {
		t.Fatal(err)
	}
	st.changed = true
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeCert(t, location, name, c) })
}

func removeCert(t *testing.T, location, name string, c *x509.Certificate) {
	t.Helper()
	st, err := openSystemStore(location, name)
	if err != nil {
		t.Error(err)
		return
	}
	if ctx := st.find(c.Raw); ctx != nil {
		if err := windows.CertDeleteCertificateFromStore(ctx); err != nil {
			t.Error(err)
		}
		st.changed = true
	}
	if err := st.close(); err != nil {
		t.Error(err)
	}
}

func utf16Prop(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	return windows.UTF16ToString(unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2))
}
