//go:build !windows

package doctor

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/keyvault"
)

func TestSecretFilesAndTheirVaultsAreChecked(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := keyvault.ParseSecretURL("https://other.vault.azure.net/secrets/db")
	if err != nil {
		t.Fatal(err)
	}
	s := &config.Settings{Secrets: []config.Secret{
		{URL: u, Path: filepath.Join(dir, "new", "db"), Mode: 0o600},
		{URL: u, Path: filepath.Join(blocker, "db"), Mode: 0o600},
		{URL: u, Path: filepath.Join(dir, "db"), Mode: 0o600, Owner: "no-such-user-akvvm"},
	}}
	var out bytes.Buffer
	d := &doctor{opts: Options{Settings: s}, rep: NewReport(&out)}
	if hosts := d.vaultHosts(); len(hosts) != 1 || hosts[0] != "other.vault.azure.net" {
		t.Errorf("vault hosts = %v, want the secrets' vault", hosts)
	}
	d.checkSecretFiles()
	text := out.String()
	for _, want := range []string{"secret files", "does not exist yet", "not a directory", "path in observedSecrets", `owner "no-such-user-akvvm"`} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if d.rep.Failed() != 2 {
		t.Errorf("failed = %d, want 2:\n%s", d.rep.Failed(), text)
	}
	if got := Describe(s); !strings.Contains(got, "0 certificates and 3 secrets in 1 vault") {
		t.Errorf("Describe = %q", got)
	}
}
