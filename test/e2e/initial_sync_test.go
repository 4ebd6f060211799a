//go:build linux

package e2e

import (
	"context"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/akvvm/akvvm/internal/emulator"
)

func TestInitialSyncIntoDirectoryStore(t *testing.T) {
	e := startEmulator(t, "e2evault")
	ctx := context.Background()
	pfx, err := e.admin.CreateCertificate(ctx, "e2evault", "web", emulator.CertificateSpec{DNSNames: []string{"web.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	pemCert, err := e.admin.CreateCertificate(ctx, "e2evault", "api", emulator.CertificateSpec{DNSNames: []string{"api.example.com"}, KeyType: "EC-P256", ContentType: "application/x-pem-file"})
	if err != nil {
		t.Fatal(err)
	}
	b := newBox(t)
	b.writeSettings(t, e,
		map[string]any{"url": "https://e2evault.vault.azure.net/secrets/web"},
		map[string]any{"url": "https://e2evault.vault.azure.net/secrets/api", "customSymbolicLinkName": "api-current"})

	out, code := b.sync(t, e)
	if code != 0 {
		t.Fatalf("sync exit %d:\n%s", code, out)
	}
	if fi, err := os.Stat(b.store); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("store dir: %v, %v", fi, err)
	}
	for link, v := range map[string]string{"e2evault.web": pfx.Version, "api-current": pemCert.Version} {
		target, err := os.Readlink(filepath.Join(b.store, link))
		if err != nil {
			t.Fatalf("link %s: %v", link, err)
		}
		base := filepath.Base(target)
		if !filepath.IsAbs(target) || base != "e2evault."+map[string]string{"e2evault.web": "web", "api-current": "api"}[link]+"."+v {
			t.Errorf("link %s -> %s, want an absolute path to version %s", link, target, v)
		}
		fi, err := os.Stat(target)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("version file %s: mode %v, err %v", target, fi.Mode(), err)
		}
		data, _ := os.ReadFile(target)
		var types []string
		for rest := data; ; {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			types = append(types, blk.Type)
		}
		want := []string{"CERTIFICATE", "CERTIFICATE", "CERTIFICATE", "PRIVATE KEY"}
		if len(types) != len(want) || types[0] != want[0] || types[3] != want[3] {
			t.Errorf("%s PEM blocks = %v, want leaf, intermediate, root, key", link, types)
		}
	}
	s := b.status(t)
	if s.Phase != "success" || len(s.Certificates) != 2 || s.Certificates[1].Thumbprint != pfx.Thumbprint {
		t.Errorf("status = %+v", s)
	}
}
