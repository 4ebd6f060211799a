package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
	"github.com/akvvm/akvvm/internal/store/filestore"
)

// TestValidateRefusesWhatTheStoreRefuses checks the cases of issue 11
// item 5: each value is refused by validate under its field's path, and
// the directory store refuses it at install with the same text, so what
// validates installs.
func TestValidateRefusesWhatTheStoreRefuses(t *testing.T) {
	const entry = "secretsManagementSettings.observedCertificates[0]."
	tests := []struct {
		name     string
		field    string // customSymbolicLinkName or certificateStoreLocation
		json     string // the value as written in the settings
		value    string // the value decoded
		want     string // the problem's message and the store's error text
		wantHint string
	}{
		{"reserved prefix", "customSymbolicLinkName", `".akvvm-records"`, ".akvvm-records",
			`".akvvm-records" starts with ".akvvm", which akvvm reserves for its own files in the store directory`, "Choose a name that does not start with .akvvm"},
		{"reserved prefix, longer", "customSymbolicLinkName", `".akvvmcert"`, ".akvvmcert",
			`".akvvmcert" starts with ".akvvm", which akvvm reserves for its own files in the store directory`, "Choose a name that does not start with .akvvm"},
		{"backslash", "customSymbolicLinkName", `"app\\cert"`, `app\cert`,
			`"app\\cert" is not a plain file name: it contains \`, "Give a plain file name such as app1Cert1"},
		{"newline in link name", "customSymbolicLinkName", `"app\ncert"`, "app\ncert",
			`"app\ncert" contains U+000A (LINE FEED), a control character`, "Write the name in printable UTF-8 characters only"},
		{"U+202E in link name", "customSymbolicLinkName", `"cert\u202Egpj.pem"`, "cert\u202Egpj.pem",
			`"cert\u202egpj.pem" contains U+202E (RIGHT-TO-LEFT OVERRIDE), a bidirectional control character that makes the text display differently from what it is`, "Write the name in printable UTF-8 characters only"},
		{"newline in store path", "certificateStoreLocation", `"/srv/app\ncerts"`, "/srv/app\ncerts",
			`"/srv/app\ncerts" contains U+000A (LINE FEED), a control character`, "Write the directory in printable UTF-8 characters only"},
		{"/proc/self as store", "certificateStoreLocation", `"/proc/self"`, "/proc/self",
			`"/proc/self" is in /proc, a file system of the kernel, not a directory for files`, "Use a directory of its own"},
		{"/proc reached through ..", "certificateStoreLocation", `"/srv/../proc/1/root"`, "/srv/../proc/1/root",
			`"/srv/../proc/1/root" is in /proc, a file system of the kernel, not a directory for files`, "Use a directory of its own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "` + tt.field + `": ` + tt.json + `}]`)
			errs := parseErrors(t, lin30, text)
			if len(errs) != 1 || errs[0].Path != entry+tt.field || errs[0].Message != tt.want || !strings.HasPrefix(errs[0].Hint, tt.wantHint) {
				t.Fatalf("validate:\n got %v\nwant %s%s: %s. %s…", errs, entry, tt.field, tt.want, tt.wantHint)
			}
			target := store.Target{Location: filepath.Join(t.TempDir(), "store")}
			if tt.field == "customSymbolicLinkName" {
				target.LinkName = tt.value
			} else {
				target.Location = tt.value
			}
			assertInstallRefuses(t, target, tt.field+" "+tt.want+": "+errs[0].Hint)
		})
	}
}

// TestInvalidUTF8IsRefusedEverywhere checks the one case whose texts
// differ: validate refuses the whole text (the byte is not in any field
// yet), the store the name.
func TestInvalidUTF8IsRefusedEverywhere(t *testing.T) {
	text := sms(`"observedCertificates": [{"url": "https://myvault.vault.azure.net/secrets/c", "customSymbolicLinkName": "ab` + "\xff" + `c"}]`)
	errs := parseErrors(t, lin30, text)
	if len(errs) != 1 || !strings.Contains(errs[0].Message, "the settings are not valid UTF-8: byte 0xFF at line 1, column 139 (byte offset 138)") {
		t.Fatalf("validate: got %v", errs)
	}
	dir := filepath.Join(t.TempDir(), "store")
	assertInstallRefuses(t, store.Target{Location: dir, LinkName: "ab\xffc"}, `customSymbolicLinkName "ab\xffc" is not valid UTF-8: byte 0xFF at offset 2`)
	assertInstallRefuses(t, store.Target{Location: "/srv/\xff"}, `certificateStoreLocation "/srv/\xff" is not valid UTF-8: byte 0xFF at offset 5`)
}

// assertInstallRefuses installs at target with the directory store and
// wants an error containing want and nothing written.
func assertInstallRefuses(t *testing.T, target store.Target, want string) {
	t.Helper()
	s := filestore.New(filestore.Options{})
	c := store.Certificate{Ref: store.Ref{Vault: "myvault", Name: "c"}, Version: "0123456789abcdef0123456789abcdef"}
	_, err := s.Install(t.Context(), target, c)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("install:\n got %v\nwant %s", err, want)
	}
	if _, err := os.Lstat(target.Location); !os.IsNotExist(err) && strings.HasPrefix(target.Location, os.TempDir()) {
		t.Errorf("install created %s (stat: %v)", target.Location, err)
	}
}
