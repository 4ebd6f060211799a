package winstore

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"

	"github.com/akvvm/akvvm/internal/certbundle"
	"github.com/akvvm/akvvm/internal/store"
	"golang.org/x/sys/windows"
)

// capiPFX is a PFX whose key bag names a CAPI provider (openssl pkcs12
// -export -CSP, empty password), shared with certbundle's tests.
const (
	capiPFX      = "../../certbundle/testdata/capi-csp.pfx"
	capiProvider = "Microsoft Enhanced RSA and AES Cryptographic Provider"
)

func TestImportFlagsMatchWincrypt(t *testing.T) {
	for _, c := range []struct {
		name      string
		ours, sys uint32
	}{
		{"CRYPT_EXPORTABLE", cryptExportable, windows.CRYPT_EXPORTABLE},
		{"CRYPT_MACHINE_KEYSET", cryptMachineKeyset, windows.CRYPT_MACHINE_KEYSET},
		{"CRYPT_USER_KEYSET", cryptUserKeyset, windows.CRYPT_USER_KEYSET},
		{"PKCS12_PREFER_CNG_KSP", pkcs12PreferCNGKSP, windows.PKCS12_PREFER_CNG_KSP},
		{"PKCS12_ALWAYS_CNG_KSP", pkcs12AlwaysCNGKSP, windows.PKCS12_ALWAYS_CNG_KSP},
	} {
		if c.ours != c.sys {
			t.Errorf("%s = %#x, wincrypt.h says %#x", c.name, c.ours, c.sys)
		}
	}
}

// capiCertificate decodes the CAPI fixture as the agent decodes a secret.
func capiCertificate(t *testing.T, ref store.Ref) store.Certificate {
	t.Helper()
	der, err := os.ReadFile(capiPFX)
	if err != nil {
		t.Fatal(err)
	}
	b, err := certbundle.DecodePFX(der, "")
	if err != nil {
		t.Fatal(err)
	}
	return b.ToStore(ref, version(1))
}

// importLog returns the log record that announced the import, and fails
// the test if the import fell back to a rebuilt PFX (a warning).
func importLog(t *testing.T, logs *bytes.Buffer) map[string]any {
	t.Helper()
	var found map[string]any
	dec := json.NewDecoder(logs)
	for dec.More() {
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		if rec["level"] == "WARN" {
			t.Errorf("import warned: %v", rec)
		}
		if _, ok := rec["api"]; ok && found == nil {
			found = rec
		}
	}
	if found == nil {
		t.Fatal("no log line says where the key goes")
	}
	return found
}

func TestImportDefaultImportsTheSecretsPFX(t *testing.T) {
	var logs bytes.Buffer
	s := New(Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	// 3.0 with keyExportable: the key goes where the PFX asks.
	tg := store.Target{Location: "CurrentUser", StoreName: "MY", KeyExportable: true}
	ref := uniqueRef(t)
	cleanup(t, s, tg, ref, nil)
	c := capiCertificate(t, ref)
	if _, err := s.Install(context.Background(), tg, c); err != nil {
		t.Fatalf("3.0 install of the secret's PFX: %v", err)
	}
	rec := importLog(t, &logs)
	if rec["msg"] != "importing the secret's PFX; the private key goes to the provider it names, else CNG" || rec["exportable"] != true {
		t.Fatalf("the secret's PFX was not imported as is, exportable: %v", rec)
	}
	if s.wine == "" && (rec["api"] != "CAPI" || rec["provider"] != capiProvider) {
		t.Errorf("log says the key goes to %v %v, want CAPI %q", rec["api"], rec["provider"], capiProvider)
	}
	leafKey(t, tg, c) // fails unless the stored certificate has its private key
	if back := readBack(t, tg, ref); len(back) != 1 || back[0].Thumbprint != thumbprint(c.Leaf.Raw) {
		t.Fatalf("a new process sees %+v", back)
	}
}

func TestKeyGoesToTheProviderThePFXNames(t *testing.T) {
	skipOnWine(t, "keys are CAPI only and the PFX's CSP name is ignored; CNG imports fail")
	s := New(Options{})
	for _, tc := range []struct {
		name     string
		tg       store.Target
		provider string
		capi     bool
	}{
		{"3.0 import default: the CAPI CSP the PFX names", store.Target{Location: "CurrentUser", StoreName: "MY"}, capiProvider, true},
		{"4.0: CNG always", store.Target{Location: "CurrentUser", StoreName: "MY", KeyAlwaysCNG: true}, "Microsoft Software Key Storage Provider", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := uniqueRef(t)
			cleanup(t, s, tc.tg, ref, nil)
			c := capiCertificate(t, ref)
			if _, err := s.Install(context.Background(), tc.tg, c); err != nil {
				t.Fatal(err)
			}
			k := leafKey(t, tc.tg, c)
			if k.provider != tc.provider || (k.provType != 0) != tc.capi {
				t.Fatalf("key in %q (provider type %d), want %q (CAPI %v)", k.provider, k.provType, tc.provider, tc.capi)
			}
		})
	}
}
