package agent

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/akvvm/akvvm/internal/keyvault"
	"github.com/akvvm/akvvm/internal/store"
)

// fakeClock advances instantly: After moves time forward and fires at once.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- now
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeSource is an in-memory Key Vault with scripted failures.
type fakeSource struct {
	mu       sync.Mutex
	versions map[string][]keyvault.Version // by secret name
	values   map[string]string             // by version
	fail     error                         // returned by every call while set
	// failGetLatest is returned by a get of the latest version while set.
	failGetLatest error
	// failVersion makes a get of one version fail.
	failVersion map[string]error
	lists       int
	gets        int
	// listable lets ListSecrets list the vault; without it the vault
	// refuses (403), as for an identity not granted List on the vault,
	// which keeps every check per-secret.
	listable bool
	// vaultPages counts the pages ListSecrets served.
	vaultPages int
	// failList is returned by ListSecrets while set.
	failList error
}

func newFakeSource() *fakeSource {
	return &fakeSource{versions: map[string][]keyvault.Version{}, values: map[string]string{}}
}

func (s *fakeSource) add(name, version, value string, created time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions[name] = append(s.versions[name], keyvault.Version{
		ID: "https://v.vault.azure.net/secrets/" + name + "/" + version, Version: version,
		Enabled: true, Created: created, ContentType: "application/x-pem-file"})
	s.values[version] = value
}

func (s *fakeSource) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func (s *fakeSource) counts() (lists, gets int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists, s.gets
}

func (s *fakeSource) Versions(_ context.Context, _, name string) ([]keyvault.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	if s.fail != nil {
		return nil, s.fail
	}
	return slices.Clone(s.versions[name]), nil
}

// ListSecrets lists every secret with its current version's attributes
// (the last one set is current, as for Get), 25 a page.
func (s *fakeSource) ListSecrets(_ context.Context, vaultURL string, maxPages int, each func([]keyvault.SecretItem)) (keyvault.Listing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.listable {
		return keyvault.Listing{}, refusedList(vaultURL)
	}
	if err := cmp.Or(s.fail, s.failList); err != nil {
		return keyvault.Listing{}, err
	}
	names := slices.Sorted(maps.Keys(s.versions))
	var l keyvault.Listing
	for len(names) > 0 || l.Pages == 0 {
		if maxPages > 0 && l.Pages >= maxPages {
			return l, nil
		}
		n := min(25, len(names))
		var page []keyvault.SecretItem
		for _, name := range names[:n] {
			vs := s.versions[name]
			if len(vs) == 0 {
				continue
			}
			v := vs[len(vs)-1]
			page = append(page, keyvault.SecretItem{Name: name, Enabled: v.Enabled, NotBefore: v.NotBefore, Expires: v.Expires,
				Created: v.Created, Updated: v.Updated, ContentType: v.ContentType, Managed: v.Managed})
		}
		names = names[n:]
		l.Pages++
		s.vaultPages++
		each(page)
	}
	l.Complete = true
	return l, nil
}

// refusedList is Key Vault's answer to a list of secrets the identity may
// not list.
func refusedList(vaultURL string) error {
	resp := &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{}, Request: &http.Request{Method: "GET"}}
	return keyvault.NewError("list the secrets", vaultURL, "", "", &azcore.ResponseError{StatusCode: http.StatusForbidden, ErrorCode: "Forbidden", RawResponse: resp})
}

// noVaultList is the vault listing of sources that refuse it (403).
type noVaultList struct{}

func (noVaultList) ListSecrets(_ context.Context, vaultURL string, _ int, _ func([]keyvault.SecretItem)) (keyvault.Listing, error) {
	return keyvault.Listing{}, refusedList(vaultURL)
}

func (s *fakeSource) Get(_ context.Context, _, name, version string) (*keyvault.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.fail != nil {
		return nil, s.fail
	}
	vs := s.versions[name]
	if err := s.failVersion[version]; err != nil && version != "" {
		return nil, err
	}
	if version == "" && s.failGetLatest != nil {
		return nil, s.failGetLatest
	}
	if version == "" && len(vs) > 0 {
		version = vs[len(vs)-1].Version // the last one set is current
	}
	for _, v := range vs {
		if v.Version == version {
			if !v.Enabled { // as Key Vault answers for a disabled version
				return nil, kvBodyError(http.StatusForbidden, name, version,
					`{"error":{"code":"Forbidden","message":"Operation get is not allowed on a disabled secret.","innererror":{"code":"SecretDisabled"}}}`)
			}
			return keyvault.NewSecret(v, s.values[version]), nil
		}
	}
	return nil, kvError(http.StatusNotFound, "SecretNotFound", name)
}

// kvError builds the error the keyvault package returns for a failed call.
func kvError(status int, code, name string) error {
	resp := &http.Response{StatusCode: status, Header: http.Header{}, Request: &http.Request{Method: "GET"}}
	return &keyvault.Error{Op: "get", VaultURL: "https://v.vault.azure.net", Name: name,
		Err: &azcore.ResponseError{StatusCode: status, ErrorCode: code, RawResponse: resp}}
}

// kvBodyError builds the error for a response with Key Vault's error body,
// as the SDK hands it over (azcore keeps only the outer code).
func kvBodyError(status int, name, version, body string) error {
	resp := &http.Response{StatusCode: status, Header: http.Header{}, Request: &http.Request{Method: "GET"},
		Body: io.NopCloser(strings.NewReader(body))}
	var outer struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &outer)
	return keyvault.NewError("get", "https://v.vault.azure.net", name, version,
		&azcore.ResponseError{StatusCode: status, ErrorCode: outer.Error.Code, RawResponse: resp})
}

// errAsResponse returns the HTTP response inside a kvError.
func errAsResponse(t *testing.T, err error) *http.Response {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%v is not a response error", err)
	}
	return re.RawResponse
}

// memStore is an in-memory store.Store that counts writes.
type memStore struct {
	mu       sync.Mutex
	items    map[store.Ref][]store.Installed // newest first
	installs int
	switches int
	deletes  int
	recovers int
	failWith error
	// gone are recorded versions whose files vanished: List reports them.
	gone map[store.Ref][]string
	// failDelete is returned by Delete while set.
	failDelete error
	// chain is the chain of the last certificate installed.
	chain []*x509.Certificate
}

func newMemStore() *memStore {
	return &memStore{items: map[store.Ref][]store.Installed{}, gone: map[store.Ref][]string{}}
}

func (m *memStore) Install(_ context.Context, _ store.Target, c store.Certificate) (store.Installed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failWith != nil {
		return store.Installed{}, m.failWith
	}
	m.installs++
	m.chain = c.Chain
	rec := store.Installed{Ref: c.Ref, Version: c.Version, Thumbprint: fmt.Sprintf("%X", c.Leaf.SerialNumber),
		NotBefore: c.Leaf.NotBefore, NotAfter: c.Leaf.NotAfter, Location: "mem:" + c.Version}
	rest := slices.DeleteFunc(slices.Clone(m.items[c.Ref]), func(in store.Installed) bool { return in.Version == c.Version })
	m.items[c.Ref] = append([]store.Installed{rec}, rest...)
	return rec, nil
}

func (m *memStore) List(_ context.Context, _ store.Target, ref store.Ref) ([]store.Installed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.items[ref])
	for i := range out {
		out[i].Current = i == 0
	}
	if g := m.gone[ref]; len(g) > 0 {
		missing := make([]store.Installed, len(g))
		for i, v := range g {
			missing[i] = store.Installed{Ref: ref, Version: v, Location: "mem:" + v}
		}
		return out, &store.MissingFilesError{Ref: ref, Missing: missing}
	}
	return out, nil
}

func (m *memStore) MakeCurrent(_ context.Context, _ store.Target, ref store.Ref, version string) (store.Installed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	items := m.items[ref]
	i := slices.IndexFunc(items, func(in store.Installed) bool { return in.Version == version })
	if i < 0 {
		return store.Installed{}, fmt.Errorf("version %s is not installed", version)
	}
	m.switches++
	rec := items[i]
	m.items[ref] = append([]store.Installed{rec}, slices.Delete(slices.Clone(items), i, i+1)...)
	return rec, nil
}

func (m *memStore) Delete(_ context.Context, _ store.Target, ref store.Ref, versions []string) ([]store.Installed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failDelete != nil {
		return nil, m.failDelete
	}
	var kept, removed []store.Installed
	for _, v := range versions {
		if slices.Contains(m.gone[ref], v) {
			m.gone[ref] = slices.DeleteFunc(m.gone[ref], func(g string) bool { return g == v })
			removed = append(removed, store.Installed{Ref: ref, Version: v})
		}
	}
	for i, in := range m.items[ref] {
		if slices.Contains(versions, in.Version) {
			if i == 0 {
				return nil, fmt.Errorf("version %s is current", in.Version)
			}
			removed = append(removed, in)
			continue
		}
		kept = append(kept, in)
	}
	m.deletes += len(removed)
	m.items[ref] = kept
	return removed, nil
}

func (m *memStore) Remove(_ context.Context, _ store.Target, ref store.Ref) ([]store.Installed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	removed := m.items[ref]
	delete(m.items, ref)
	return removed, nil
}

func (m *memStore) versions(ref store.Ref) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, i := range m.items[ref] {
		out = append(out, i.Version)
	}
	return out
}

// testPKI issues PEM certificate secrets for tests. Their validity is anchored
// at t0, where the harness clock starts, not at the wall clock, so the chain
// check gives the same answer on any day the tests run.
type testPKI struct {
	root    *x509.Certificate
	rootKey *ecdsa.PrivateKey
	serial  int64
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	root, key := selfSignedCA(t, "test root", 1)
	return &testPKI{root: root, rootKey: key, serial: 100}
}

// selfSignedCA makes a self-signed CA certificate named cn with its key.
func selfSignedCA(t *testing.T, cn string, serial int64) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: t0.Add(-48 * time.Hour), NotAfter: t0.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

// leafPEM returns a PEM secret (key first, as Key Vault stores it) for a
// server-auth leaf signed by the root, or self-signed when selfSigned.
func (p *testPKI) leafPEM(t *testing.T, dns string, selfSigned bool) string {
	t.Helper()
	return p.leafPEMValid(t, dns, selfSigned, t0.Add(-24*time.Hour), t0.Add(180*24*time.Hour))
}

// leafPEMValid is leafPEM with the given validity.
func (p *testPKI) leafPEMValid(t *testing.T, dns string, selfSigned bool, notBefore, notAfter time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: dns}, DNSNames: []string{dns},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	parent, signer := p.root, any(p.rootKey)
	if selfSigned {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if !selfSigned {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.Raw})...)
	}
	return string(out)
}

// edit changes the listed metadata of one version.
func (s *fakeSource) edit(name, version string, f func(*keyvault.Version)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.versions[name] {
		if s.versions[name][i].Version == version {
			f(&s.versions[name][i])
		}
	}
}

// drop makes the vault stop listing one version.
func (s *fakeSource) drop(name, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions[name] = slices.DeleteFunc(s.versions[name], func(v keyvault.Version) bool { return v.Version == version })
}

// recovers counts Recover calls: one per pass.
func (m *memStore) Recover(context.Context, []store.Target) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recovers++
	return nil
}
