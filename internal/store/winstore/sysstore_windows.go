package winstore

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"github.com/akvvm/akvvm/internal/store"
	"golang.org/x/sys/windows"
)

// locationFlags maps a store location to its CertOpenStore flag.
func locationFlags(location string) (uint32, error) {
	switch {
	case strings.EqualFold(location, "LocalMachine"):
		return windows.CERT_SYSTEM_STORE_LOCAL_MACHINE, nil
	case strings.EqualFold(location, "CurrentUser"):
		return windows.CERT_SYSTEM_STORE_CURRENT_USER, nil
	}
	return 0, fmt.Errorf("certificate store location %q: use LocalMachine or CurrentUser", location)
}

// sysStore is one open system store.
type sysStore struct {
	h       windows.Handle
	name    string
	changed bool
}

// openSystemStore opens (creating if needed) a system store such as MY.
func openSystemStore(location, name string) (*sysStore, error) {
	flags, err := locationFlags(location)
	if err != nil {
		return nil, err
	}
	if err := store.CheckStoreName(name); err != nil {
		return nil, err
	}
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	h, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM_W, 0, 0, flags, uintptr(unsafe.Pointer(n)))
	// The name is passed as a uintptr: keep it alive until the call is done.
	runtime.KeepAlive(n)
	if err != nil {
		return nil, fmt.Errorf("open certificate store %s\\%s: %w (LocalMachine stores need an administrator or SYSTEM)", location, name, err)
	}
	return &sysStore{h: h, name: location + `\` + name}, nil
}

// close flushes the store when it was changed, then closes it.
func (s *sysStore) close() error {
	var err error
	if s.changed {
		if cerr := commitStore(s.h); cerr != nil {
			err = fmt.Errorf("save certificate store %s: %w", s.name, cerr)
		}
	}
	if cerr := windows.CertCloseStore(s.h, 0); cerr != nil && err == nil {
		err = fmt.Errorf("close certificate store %s: %w", s.name, cerr)
	}
	return err
}

// each calls f with every certificate in the store until f returns false.
// The context is valid only during the call.
func (s *sysStore) each(f func(*windows.CertContext) bool) {
	var ctx *windows.CertContext
	for {
		next, err := windows.CertEnumCertificatesInStore(s.h, ctx)
		if err != nil || next == nil {
			return
		}
		ctx = next
		if !f(ctx) {
			windows.CertFreeCertificateContext(ctx)
			return
		}
	}
}

// entry is one certificate akvvm installed, found in a store.
type entry struct {
	rec   record
	ctx   *windows.CertContext // a duplicate: free it or pass it to delete
	thumb string
	cert  *x509.Certificate
	// current marks the version the store presents as current.
	current bool
}

// managed returns the versions of ref at t that carry akvvm's marker, in
// List's order: the current one first (marked), then the others newest
// installed first. The caller frees every entry.
func (s *sysStore) managed(t store.Target, ref store.Ref) []entry {
	var out []entry
	s.each(func(ctx *windows.CertContext) bool {
		desc, ok := getStringProperty(ctx, propDescription)
		if !ok {
			return true
		}
		rec, err := parseMarker(desc)
		if err != nil || !rec.matches(t, ref) {
			return true
		}
		raw := bytes.Clone(unsafe.Slice(ctx.EncodedCert, ctx.Length))
		cert, err := x509.ParseCertificate(raw)
		if err != nil {
			return true
		}
		out = append(out, entry{rec: rec, ctx: windows.CertDuplicateCertificateContext(ctx), thumb: thumbprint(raw), cert: cert})
		return true
	})
	currentFirst(out, func(e entry) record { return e.rec })
	if len(out) > 0 {
		out[0].current = true
	}
	return out
}

func freeEntries(es []entry) {
	for _, e := range es {
		if e.ctx != nil {
			windows.CertFreeCertificateContext(e.ctx)
		}
	}
}

func (e entry) installed(t store.Target) store.Installed {
	return store.Installed{
		Ref:         store.Ref{Vault: e.rec.Vault, Name: e.rec.Name},
		Version:     e.rec.Version,
		Thumbprint:  e.thumb,
		NotBefore:   e.cert.NotBefore,
		NotAfter:    e.cert.NotAfter,
		InstalledAt: e.rec.InstalledAt,
		Location:    t.Location + `\` + t.StoreName + `\` + e.thumb,
		Current:     e.current,
	}
}

// thumbprint is the upper-case hex SHA-1 of a DER certificate.
func thumbprint(der []byte) string { return store.Thumbprint(der) }

// checkNotForeign refuses to install c when the store already holds the
// same certificate without akvvm's marker for c's certificate at t: adding
// it would replace that certificate (its key link and description) and
// hand it to a later Delete or Remove. When akvvm installed it for another
// observed certificate, the error names that owner.
func (s *sysStore) checkNotForeign(t store.Target, c store.Certificate) error {
	ctx := s.find(c.Leaf.Raw)
	if ctx == nil {
		return nil
	}
	defer windows.CertFreeCertificateContext(ctx)
	if desc, ok := getStringProperty(ctx, propDescription); ok {
		rec, err := parseMarker(desc)
		if err == nil && rec.matches(t, c.Ref) {
			return nil
		}
		if err == nil {
			return ownedElsewhereError(thumbprint(c.Leaf.Raw), s.name, t, c, rec)
		}
	}
	return fmt.Errorf("certificate %s is already in %s but akvvm did not install it there for %s/%s: remove it from the store so that akvvm can install version %s",
		thumbprint(c.Leaf.Raw), s.name, c.Vault, c.Name, c.Version)
}

// keyContainerInUse reports whether any certificate in the store other than
// except uses the key container.
func (s *sysStore) keyContainerInUse(container string, except []byte) bool {
	used := false
	s.each(func(ctx *windows.CertContext) bool {
		k, ok := keyProvInfo(ctx)
		if ok && k.container == container && !bytes.Equal(unsafe.Slice(ctx.EncodedCert, ctx.Length), except) {
			used = true
			return false
		}
		return true
	})
	return used
}

// addIntermediates adds every non-root issuer to the store, leaving
// certificates that are already there as they are.
func (s *sysStore) addIntermediates(chain []*x509.Certificate) error {
	for _, c := range chain {
		if isSelfSigned(c) {
			continue
		}
		ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, &c.Raw[0], uint32(len(c.Raw)))
		if err != nil {
			return fmt.Errorf("read intermediate %q: %w", c.Subject.String(), err)
		}
		err = windows.CertAddCertificateContextToStore(s.h, ctx, windows.CERT_STORE_ADD_USE_EXISTING, nil)
		windows.CertFreeCertificateContext(ctx)
		if err != nil {
			return fmt.Errorf("add intermediate %q to %s: %w", c.Subject.String(), s.name, err)
		}
		s.changed = true
	}
	return nil
}

// isSelfSigned reports whether c is a root: it names and verifies itself.
func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil
}
