//go:build linux

package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

func TestCheckOverlapsSeesThroughSymbolicLinks(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "certs")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	alias := filepath.Join(root, "alias")
	if err := os.Symlink(real, alias); err != nil {
		t.Fatal(err)
	}
	entry := func(name, loc, link string) CertSpec {
		return CertSpec{Ref: store.Ref{Vault: "vault1", Name: name}, Target: store.Target{Location: loc, LinkName: link}}
	}
	tests := []struct {
		name  string
		certs []CertSpec
		want  string // "" for no error
	}{
		{"one secret, two directories", []CertSpec{entry("web", real, "a"), entry("web", filepath.Join(root, "other"), "b")}, ""},
		{"two secrets, one directory", []CertSpec{entry("web", real, "a"), entry("api", alias, "b")}, ""},
		{"one secret through a link to the directory", []CertSpec{entry("web", real, "a"), entry("web", alias, "b")},
			"observedCertificates[0] and [1] both install vault1/web into " + real},
		{"one secret in a directory not made yet below a link", []CertSpec{entry("web", filepath.Join(real, "new"), ""), entry("WEB", filepath.Join(alias, "new"), "")},
			"both install vault1/WEB into " + filepath.Join(real, "new")},
		{"one link name for two secrets through a link", []CertSpec{entry("web", real, "tls"), entry("api", alias+"/", "tls")},
			`both use the link name "tls" in ` + real},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckOverlaps(tt.certs)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckOverlaps = %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckOverlaps = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
