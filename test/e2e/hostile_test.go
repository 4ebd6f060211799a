//go:build linux

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

// hostileCase is one attack by a hostile vault, identity endpoint or
// neighbour on the machine.
type hostileCase struct {
	name string
	// attack injects the fault or plants the files; web is the version
	// the vault serves. It returns the version that must stay installed
	// when the attack is refused ("" for none).
	attack func(t *testing.T, h *hostileBed, web emulator.SecretVersion) string
	// cause holds parts the certificate's status error must name; empty
	// when the certificate installs.
	cause []string
	// check runs after the sync, for what the case asserts beyond the
	// common checks.
	check func(t *testing.T, h *hostileBed, web emulator.SecretVersion, out string)
}

// hostileBed is one machine under attack: a box, the vault it observes,
// and a directory outside akvvm's records with a file nothing may touch.
type hostileBed struct {
	e       *emu
	b       *box
	vault   string
	outside string
	bait    string // a file outside the records, with known content
}

const baitContent = "operator's own file: akvvm must never read, write or follow into it\n"

// TestHostileVaultPlantsNothing runs each attack against a fresh machine and
// asserts that nothing was installed or written outside akvvm's records
// (the bait outside is unchanged and nothing new appears next to it) and
// that the status names the cause.
func TestHostileVaultPlantsNothing(t *testing.T) {
	t.Parallel()
	cases := []hostileCase{
		{
			name: "download redirected to another vault",
			attack: func(t *testing.T, h *hostileBed, web emulator.SecretVersion) string {
				other := h.e.create(t, "hostile-other", "web", emulator.CertificateSpec{})
				h.e.fault(t, emulator.Fault{Op: emulator.OpGetSecret, Vault: h.vault, Kind: emulator.FaultRedirect, Count: 0,
					Location: "https://hostile-other.vault.azure.net/secrets/web/" + other.Version + "?api-version=7.5"})
				return ""
			},
			cause: []string{"redirect", "hostile-other.vault.azure.net"},
		},
		{
			name: "version listing redirected",
			attack: func(t *testing.T, h *hostileBed, web emulator.SecretVersion) string {
				// The first install fetches the newest version directly;
				// listings come with the checks after it.
				h.installThenRotate(t)
				h.e.fault(t, emulator.Fault{Op: emulator.OpListVersions, Vault: h.vault, Kind: emulator.FaultRedirect, Status: 307, Count: 0,
					Location: "https://hostile-other.vault.azure.net/secrets/web/versions?api-version=7.5"})
				return web.Version
			},
			cause: []string{"redirect", "hostile-other.vault.azure.net"},
		},
		{
			name: "identity endpoint redirects",
			attack: func(t *testing.T, h *hostileBed, _ emulator.SecretVersion) string {
				u, err := url.Parse(h.e.ready.IMDSEndpoint)
				if err != nil {
					t.Fatal(err)
				}
				h.e.fault(t, emulator.Fault{Op: emulator.OpToken, Kind: emulator.FaultRedirect, Count: 0,
					Location: "http://localhost:" + u.Port() + "/elsewhere/token"})
				return ""
			},
			cause: []string{"redirect", "localhost"},
		},
		{
			name: "oversize value",
			attack: func(t *testing.T, h *hostileBed, _ emulator.SecretVersion) string {
				h.e.fault(t, emulator.Fault{Op: emulator.OpGetSecret, Vault: h.vault, Kind: emulator.FaultValue, PadTo: 4 << 20, Count: 0})
				return ""
			},
			cause: []string{"MiB"},
		},
		{
			name: "a thousand certificates whose names chain",
			attack: func(t *testing.T, h *hostileBed, web emulator.SecretVersion) string {
				value := h.realValue(t, web)
				h.e.fault(t, emulator.Fault{Op: emulator.OpGetSecret, Vault: h.vault, Kind: emulator.FaultValue, Count: 0,
					Value: value + forgedChain(t, leafOf(t, value), 1000)})
				return ""
			},
			cause: []string{"certificates"},
		},
		{
			name: "forged links in the chain",
			attack: func(t *testing.T, h *hostileBed, web emulator.SecretVersion) string {
				value := h.realValue(t, web)
				h.e.fault(t, emulator.Fault{Op: emulator.OpGetSecret, Vault: h.vault, Kind: emulator.FaultValue, Count: 0,
					Value: forgedChain(t, leafOf(t, value), 5) + value})
				return ""
			},
			check: func(t *testing.T, h *hostileBed, web emulator.SecretVersion, out string) {
				data, err := os.ReadFile(filepath.Join(h.b.store, h.vault+".web."+web.Version))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(data), "Forged") || forgedIn(t, data) > 0 {
					t.Errorf("the installed file holds %d forged certificates", forgedIn(t, data))
				}
				if !strings.Contains(out, "Forged") {
					t.Errorf("the log does not name the dropped forged certificates:\n%s", out)
				}
				if st := certStatus(t, h.b.status(t), h.vault+"/web"); !contains(st.Notice, "5 certificates", "not in the leaf's verified chain") {
					t.Errorf("status notice %q does not say that 5 certificates were left out", st.Notice)
				}
			},
		},
		{
			name: "lock file is a symbolic link out of the store",
			attack: func(t *testing.T, h *hostileBed, _ emulator.SecretVersion) string {
				h.plant(t, ".akvvm.lock", filepath.Join(h.outside, "nologin"))
				return ""
			},
			cause: []string{".akvvm.lock", "symlink"},
		},
		{
			name: "record is a symbolic link out of the store",
			attack: func(t *testing.T, h *hostileBed, _ emulator.SecretVersion) string {
				h.plant(t, ".akvvm-records/"+h.vault+".web.json", h.bait)
				return ""
			},
			cause: []string{".web.json", "symlink"},
		},
		{
			name: "certificate lock is a symbolic link out of the store",
			attack: func(t *testing.T, h *hostileBed, web emulator.SecretVersion) string {
				// With no record yet, start-up recovery removes a stray
				// lock file (the link itself, never its target); with a
				// record, the lock is opened and must refuse the link.
				h.installThenRotate(t)
				lock := ".akvvm-records/" + h.vault + ".web.lock"
				if err := os.Remove(filepath.Join(h.b.store, lock)); err != nil {
					t.Fatal(err)
				}
				h.plant(t, lock, filepath.Join(h.outside, "created"))
				return web.Version
			},
			cause: []string{".web.lock", "symlink"},
		},
		{
			name: "version file is a symbolic link out of the store",
			attack: func(t *testing.T, h *hostileBed, web emulator.SecretVersion) string {
				h.plant(t, h.vault+".web."+web.Version, h.bait)
				return ""
			},
			cause: []string{".web.", "not a regular file"},
		},
		{
			name: "link name taken by a symbolic link out of the store",
			attack: func(t *testing.T, h *hostileBed, _ emulator.SecretVersion) string {
				h.plant(t, h.vault+".web", h.bait)
				return ""
			},
			cause: []string{".web", "not created by akvvm"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// An emulator of its own: a fault on the identity endpoint
			// applies to every vault.
			e := startEmulator(t, "hostile", "hostile-other")
			h := &hostileBed{e: e, b: newBox(t), vault: "hostile"}
			h.outside = filepath.Join(h.b.dir, "outside")
			h.bait = filepath.Join(h.outside, "bait")
			for _, dir := range []string{h.outside, h.b.store} {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(h.bait, []byte(baitContent), 0o644); err != nil {
				t.Fatal(err)
			}
			web := e.create(t, h.vault, "web", emulator.CertificateSpec{ContentType: "application/x-pem-file"})
			h.b.writeSettings(t, e, map[string]any{"url": "https://" + h.vault + ".vault.azure.net/secrets/web"})
			keep := tc.attack(t, h, web)
			planted := snapshot(t, h.b.store)

			out, code := h.b.sync(t, e, "--log-level", "debug")

			if strings.Contains(out, strings.TrimSpace(baitContent)) {
				t.Errorf("the bait's content reached the output:\n%s", out)
			}
			if data, err := os.ReadFile(h.bait); err != nil || string(data) != baitContent {
				t.Errorf("the bait outside the store changed: %q, %v", data, err)
			}
			if entries, err := os.ReadDir(h.outside); err != nil || len(entries) != 1 {
				t.Errorf("files outside the store: %v (%v), want only the bait", entryNames(entries), err)
			}
			st := certStatus(t, h.b.status(t), h.vault+"/web")
			if tc.cause == nil {
				if code != 0 || st.InstalledVersion != web.Version {
					t.Errorf("exit %d, installed %q; want version %s installed:\n%s", code, st.InstalledVersion, web.Version, out)
				}
			} else {
				if code == 0 || st.InstalledVersion != keep {
					t.Errorf("exit %d, installed %q; want %q installed (nothing new):\n%s", code, st.InstalledVersion, keep, out)
				}
				if !contains(st.LastError, tc.cause...) {
					t.Errorf("status error %q does not name the cause %q", st.LastError, tc.cause)
				}
				after := snapshot(t, h.b.store)
				for name := range after {
					if _, ok := planted[name]; !ok && !strings.HasPrefix(name, ".akvvm") {
						t.Errorf("the refused sync left %s in the store", name)
					}
				}
			}
			if tc.check != nil {
				tc.check(t, h, web, out)
			}
		})
	}
}

// installThenRotate installs the vault's version, then rotates the
// certificate so that the next sync has a new version to fetch.
func (h *hostileBed) installThenRotate(t *testing.T) {
	t.Helper()
	if out, code := h.b.sync(t, h.e); code != 0 {
		t.Fatalf("first sync: exit %d\n%s", code, out)
	}
	nextSecond()
	h.e.rotate(t, h.vault, "web")
}

// plant makes a symbolic link at name inside the store pointing at target.
func (h *hostileBed) plant(t *testing.T, name, target string) {
	t.Helper()
	p := filepath.Join(h.b.store, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// realValue is the PEM value the vault holds for web.
func (h *hostileBed) realValue(t *testing.T, web emulator.SecretVersion) string {
	t.Helper()
	resp, err := h.e.secretsClient(t, h.vault).GetSecret(t.Context(), "web", web.Version, nil)
	if err != nil || resp.Value == nil {
		t.Fatalf("get the real value: %v", err)
	}
	return *resp.Value
}

// leafOf returns the first certificate of a PEM value.
func leafOf(t *testing.T, value string) *x509.Certificate {
	t.Helper()
	rest := []byte(value)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			t.Fatal("the value holds no certificate")
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
}

// forgedChain returns n CA certificates whose names chain up from leaf's
// issuer ("Forged 1" is issued to the leaf's issuer name, by "Forged 2",
// and so on) but whose signatures verify against nothing: each is signed
// by a throwaway key.
func forgedChain(t *testing.T, leaf *x509.Certificate, n int) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	subject := leaf.Issuer
	for i := 1; i <= n; i++ {
		issuer := pkix.Name{CommonName: fmt.Sprintf("Forged %d", i+1), Organization: []string{"Forged"}}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i)), Subject: subject, Issuer: issuer,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		parent := &x509.Certificate{Subject: issuer, PublicKey: &key.PublicKey}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		_ = pem.Encode(&sb, &pem.Block{Type: "CERTIFICATE", Bytes: der})
		subject = issuer
	}
	return sb.String()
}

// forgedIn counts the certificates in data that forgedChain made.
func forgedIn(t *testing.T, data []byte) int {
	t.Helper()
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return n
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(c.Issuer.CommonName, "Forged") {
			n++
		}
	}
}

func entryNames(entries []os.DirEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Name()
	}
	return out
}
