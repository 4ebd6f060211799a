package winstore

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/akvvm/akvvm/internal/wine"

	"github.com/akvvm/akvvm/internal/certbundle"
	"github.com/akvvm/akvvm/internal/store"
	"golang.org/x/sys/windows"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// Options configure a Store.
type Options struct {
	// Logger receives notices such as steps skipped under Wine; default discards.
	Logger *slog.Logger
	// Now tells time for InstalledAt and CurrentAt; default time.Now.
	Now func() time.Time
	// LockDir holds the stores' lock files; default %ProgramData%\akvvm\locks
	// for LocalMachine and %LOCALAPPDATA%\akvvm\locks for CurrentUser.
	LockDir string
	// LockWait bounds the wait for another process's lock; default DefaultLockWait.
	LockWait time.Duration
}

// Store is the Windows certificate store as a store.Store.
type Store struct {
	log  *slog.Logger
	now  func() time.Time
	wine string
	// mu serialises changes within the process so two installs never
	// interleave their links; lockStore does the same across processes.
	mu       sync.Mutex
	lockDir  string
	lockWait time.Duration
	// fault, set only by tests, fails the named step of a change.
	fault func(step string) error
}

var _ store.Store = (*Store)(nil)

// New returns the Windows certificate store.
func New(o Options) *Store {
	s := &Store{log: o.Logger, now: o.Now, wine: wine.Version(), lockDir: o.LockDir, lockWait: o.LockWait}
	if s.lockWait <= 0 {
		s.lockWait = DefaultLockWait
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.wine != "" {
		s.log.Info("running under Wine: CNG keys, private-key permissions and key removal are skipped (Wine gaps; see docs/windows.md)", "wine", s.wine)
	}
	return s
}

// List returns the versions of ref akvvm installed at t: the current one
// (installed or made current last) first, then the others newest installed
// first.
func (s *Store) List(_ context.Context, t store.Target, ref store.Ref) ([]store.Installed, error) {
	st, err := openSystemStore(t.Location, t.StoreName)
	if err != nil {
		return nil, err
	}
	defer st.close()
	es := st.managed(t, ref)
	defer freeEntries(es)
	out := make([]store.Installed, 0, len(es))
	for _, e := range es {
		out = append(out, e.installed(t))
	}
	return out, nil
}

// Install imports c's leaf and key into t, its intermediates into CA, and
// links the previous current version to it when t.LinkOnRenewal is set.
// A version that is already installed is made current as MakeCurrent does.
func (s *Store) Install(ctx context.Context, t store.Target, c store.Certificate) (store.Installed, error) {
	if c.Leaf == nil || c.Key == nil {
		return store.Installed{}, errors.New("certificate has no leaf or no private key")
	}
	if s.wine != "" {
		if _, ok := c.Key.(*rsa.PrivateKey); !ok {
			return store.Installed{}, fmt.Errorf("under Wine %s only RSA private keys can be imported (ECDSA PFX import fails): use an RSA certificate or real Windows", s.wine)
		}
	}
	keyFlags, err := locationFlags(t.Location)
	if err != nil {
		return store.Installed{}, err
	}
	sddl, err := s.keySecurity(t)
	if err != nil {
		return store.Installed{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Under the lock the store is read again: a version another process
	// installed meanwhile is found and reported unchanged, not imported twice.
	unlock, err := s.lockStore(ctx, t)
	if err != nil {
		return store.Installed{}, err
	}
	defer unlock()

	st, err := openSystemStore(t.Location, t.StoreName)
	if err != nil {
		return store.Installed{}, err
	}
	// Contexts are freed before their store is closed: Wine frees them with
	// the store, and freeing them afterwards corrupts its heap.
	existing := st.managed(t, c.Ref)
	for i, e := range existing {
		if e.rec.Version == c.Version {
			rec, err := s.makeCurrent(st, t, existing, i)
			freeEntries(existing)
			if cerr := st.close(); cerr != nil && err == nil {
				err = cerr
			}
			return rec, err
		}
	}
	if err := st.checkNotForeign(t, c); err != nil {
		freeEntries(existing)
		_ = st.close()
		return store.Installed{}, err
	}
	rec := record{Vault: c.Vault, Name: c.Name, Version: c.Version, Location: t.Location, Store: t.StoreName,
		InstalledAt: after(s.now().UTC(), existing)}
	installed, err := s.install(st, t, c, rec, keyFlags, sddl, existing)
	freeEntries(existing)
	if cerr := st.close(); cerr != nil && err == nil {
		err = cerr
	}
	return installed, err
}

// keySecurity builds the key's security descriptor, resolving t.Accounts;
// an unknown account fails the install before anything changes.
func (s *Store) keySecurity(t store.Target) (string, error) {
	readers, err := resolveAccounts(t.Accounts, lookupSID)
	if err != nil {
		return "", err
	}
	var full []string
	if strings.EqualFold(t.Location, "CurrentUser") {
		me, err := currentUserSID()
		if err != nil {
			return "", fmt.Errorf("find the current user for the key permissions: %w", err)
		}
		full = append(full, me)
	}
	return KeySecurity(full, readers)
}

func (s *Store) install(st *sysStore, t store.Target, c store.Certificate, rec record, keyFlags uint32, sddl string, existing []entry) (store.Installed, error) {
	tmp, err := s.importCertificate(t, c, keyFlags)
	if err != nil {
		return store.Installed{}, err
	}
	defer windows.CertCloseStore(tmp.h, 0)
	leaf := tmp.find(c.Leaf.Raw)
	if leaf == nil {
		return store.Installed{}, errors.New("the imported PFX holds no leaf certificate")
	}
	defer windows.CertFreeCertificateContext(leaf)
	key, hasKey := keyProvInfo(leaf)
	dropKey := func() {
		if hasKey && !st.keyContainerInUse(key.container, c.Leaf.Raw) {
			if err := deleteKey(key); err != nil {
				s.log.Warn("could not remove the key of a failed install", "error", err)
			}
		}
	}
	if err := setStringProperty(leaf, propDescription, rec.marker()); err != nil {
		dropKey()
		return store.Installed{}, fmt.Errorf("mark the certificate as installed by akvvm: %w", err)
	}
	if s.wine != "" {
		s.log.Debug("private-key permissions not applied: Wine does not support key security descriptors", "sddl", sddl)
	} else if err := applyKeySecurity(leaf, sddl); err != nil {
		dropKey()
		return store.Installed{}, err
	}
	if err := s.addIntermediates(t, c); err != nil {
		dropKey()
		return store.Installed{}, err
	}
	var added *windows.CertContext
	if err := windows.CertAddCertificateContextToStore(st.h, leaf, windows.CERT_STORE_ADD_REPLACE_EXISTING, &added); err != nil {
		dropKey()
		return store.Installed{}, fmt.Errorf("add the certificate to %s: %w", st.name, err)
	}
	st.changed = true
	// Set on the stored copy: under Wine a friendly name set on the imported
	// context before the copy corrupts the heap for some name lengths.
	if err := setStringProperty(added, propFriendlyName, rec.friendlyName()); err != nil {
		windows.CertDeleteCertificateFromStore(added)
		dropKey()
		return store.Installed{}, fmt.Errorf("set the friendly name: %w", err)
	}
	// existing[0] is the current version (managed's order), which need not
	// be the newest installed one after MakeCurrent.
	if t.LinkOnRenewal && len(existing) > 0 && existing[0].thumb != thumbprint(c.Leaf.Raw) {
		sum := sha1.Sum(c.Leaf.Raw)
		if err := setBlobProperty(existing[0].ctx, propRenewal, sum[:]); err != nil {
			windows.CertDeleteCertificateFromStore(added)
			dropKey()
			return store.Installed{}, fmt.Errorf("link version %s to its renewal: %w", existing[0].rec.Version, err)
		}
	}
	windows.CertFreeCertificateContext(added)
	e := entry{rec: rec, thumb: thumbprint(c.Leaf.Raw), cert: c.Leaf, current: true}
	return e.installed(t), nil
}

// importCertificate imports c's leaf and key as planImport decides for t:
// the secret's own PFX when the key goes where the PFX names (1.0, 3.0),
// otherwise, or when Windows refuses the original, one rebuilt from c.
func (s *Store) importCertificate(t store.Target, c store.Certificate, keyFlags uint32) (*sysStore, error) {
	wine := s.wine != ""
	p := planImport(importRequest{
		AlwaysCNG:   t.KeyAlwaysCNG,
		Exportable:  t.KeyExportable,
		Isolation:   t.KeyIsolation,
		Machine:     keyFlags == windows.CERT_SYSTEM_STORE_LOCAL_MACHINE,
		Wine:        wine,
		HasOriginal: len(c.PFX) > 0,
	})
	if p.Original {
		api, provider := p.destination(wine, certbundle.PFXKeyProvider(c.PFX))
		s.log.Info("importing the secret's PFX; the private key goes to the provider it names, else CNG", "version", c.Version, "api", api, "provider", provider, "exportable", p.Flags&cryptExportable != 0)
		tmp, err := s.importPFX(c.PFX, p)
		if err == nil {
			return tmp, nil
		}
		s.log.Warn("Windows could not import the secret's PFX as it is; importing one rebuilt from its certificate and key instead, whose key goes to CNG", "version", c.Version, "error", err)
		p.Original = false
	} else {
		api, provider := p.destination(wine, "")
		s.log.Info("importing the certificate and key", "version", c.Version, "api", api, "provider", provider, "exportable", p.Flags&cryptExportable != 0)
	}
	pfx, err := pkcs12.Modern.Encode(c.Key, c.Leaf, nil, "")
	if err != nil {
		return nil, fmt.Errorf("build the PFX to import: %w", err)
	}
	return s.importPFX(pfx, p)
}

// importPFX imports a PFX protected by the empty password, written either
// as "" or as NULL (PFXImportCertStore needs the exact form), with p's
// flags, trying KeyGuard first when p asks for it.
func (s *Store) importPFX(pfx []byte, p importPlan) (*sysStore, error) {
	empty, _ := windows.UTF16PtrFromString("")
	blob := windows.CryptDataBlob{Size: uint32(len(pfx)), Data: &pfx[0]}
	if p.TryIsolation {
		h, err := windows.PFXImportCertStore(&blob, empty, p.Flags|pkcs12VirtualIsolationKey)
		if err == nil && h != 0 {
			return &sysStore{h: h, name: "imported PFX"}, nil
		}
		s.log.Info("KeyGuard (virtualization-based key isolation) is not available on this machine; the key is stored by the Microsoft Software Key Storage Provider without it", "error", err)
	}
	var first error
	for _, pw := range []*uint16{empty, nil} {
		h, err := windows.PFXImportCertStore(&blob, pw, p.Flags)
		if err == nil && h != 0 {
			return &sysStore{h: h, name: "imported PFX"}, nil
		}
		if first == nil {
			first = err
			if first == nil {
				first = errors.New("no certificate store returned")
			}
		}
	}
	return nil, fmt.Errorf("import the certificate and key (PFXImportCertStore, flags %#x): %w", p.Flags, first)
}

// find returns a duplicate of the certificate with this DER, or nil.
func (s *sysStore) find(der []byte) *windows.CertContext {
	var found *windows.CertContext
	s.each(func(ctx *windows.CertContext) bool {
		if bytes.Equal(unsafe.Slice(ctx.EncodedCert, ctx.Length), der) {
			found = windows.CertDuplicateCertificateContext(ctx)
			return false
		}
		return true
	})
	return found
}

// addIntermediates puts the chain's intermediates into CA at t's location.
func (s *Store) addIntermediates(t store.Target, c store.Certificate) error {
	if len(c.Chain) == 0 {
		return nil
	}
	ca, err := openSystemStore(t.Location, "CA")
	if err != nil {
		return err
	}
	err = ca.addIntermediates(c.Chain)
	if cerr := ca.close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}
