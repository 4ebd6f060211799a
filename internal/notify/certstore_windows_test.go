package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"testing"
	"time"
	"unsafe"

	"github.com/akvvm/akvvm/internal/store"
	"golang.org/x/sys/windows"
)

// putInStore adds a new certificate for dns to CurrentUser\MY, flushed so
// that another handle sees it, and removes it when the test ends.
func putInStore(t *testing.T, dns string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: n, Subject: pkix.Name{CommonName: "akvvm notify " + t.Name()}, DNSNames: []string{dns},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	change := func(add bool) error {
		name, _ := windows.UTF16PtrFromString("MY")
		st, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM_W, 0, 0, windows.CERT_SYSTEM_STORE_CURRENT_USER, uintptr(unsafe.Pointer(name)))
		if err != nil {
			return err
		}
		ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING, &der[0], uint32(len(der)))
		if err != nil {
			windows.CertCloseStore(st, 0)
			return err
		}
		var stored *windows.CertContext
		err = windows.CertAddCertificateContextToStore(st, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, &stored)
		windows.CertFreeCertificateContext(ctx)
		if err == nil && !add {
			err = windows.CertDeleteCertificateFromStore(stored) // frees stored
		} else if err == nil {
			windows.CertFreeCertificateContext(stored)
		}
		if err == nil {
			// CertControlStore(COMMIT, FORCE): Wine loses changes without it.
			if r, _, cerr := windows.NewLazySystemDLL("crypt32.dll").NewProc("CertControlStore").Call(uintptr(st), 1, 3, 0); r == 0 {
				err = cerr
			}
		}
		if cerr := windows.CertCloseStore(st, 0); err == nil {
			err = cerr
		}
		return err
	}
	if err := change(true); err != nil {
		t.Fatalf("add a test certificate to CurrentUser\\MY: %v", err)
	}
	t.Cleanup(func() {
		if err := change(false); err != nil {
			t.Errorf("remove the test certificate: %v", err)
		}
	})
	return c
}

// A version made current again has no bundle: its names come from the
// real store, read by its thumbprint with crypt32.
func TestMadeCurrentLeafIsReadFromTheStore(t *testing.T) {
	cur := putInStore(t, "current.example.test")
	prev := putInStore(t, "current.example.test")
	ref := store.Ref{Vault: "kv1", Name: "web"}
	e := event(&store.Installed{Ref: ref, Version: "aaaa", Thumbprint: store.Thumbprint(prev.Raw)})
	e.Cert.Target = store.Target{Location: "CurrentUser", StoreName: "MY"}
	e.Installed.Thumbprint = store.Thumbprint(cur.Raw)
	e.Bundle, e.Rollback = nil, true
	r, due := Prepare(e, readStoreCert, slog.Default())
	if !due || r.Kind != Rollback {
		t.Fatalf("due=%v record=%+v", due, r)
	}
	if r.Subject != cur.Subject.String() || len(r.SANs) != 1 || r.SANs[0] != "DNS:current.example.test" {
		t.Fatalf("subject %q, SANs %q: not read from the store", r.Subject, r.SANs)
	}
	if r.OldThumbprint != store.Thumbprint(prev.Raw) || r.NewThumbprint != store.Thumbprint(cur.Raw) {
		t.Fatalf("thumbprints old %s new %s", r.OldThumbprint, r.NewThumbprint)
	}
}
