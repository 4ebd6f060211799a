package store

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckLinkName checks each rule and the exact text it reports.
func TestCheckLinkName(t *testing.T) {
	tests := []struct {
		name string
		want string // Message(), or "" when accepted
	}{
		{"app1Cert1", ""},
		{"web.pem", ""},
		{"zertifikat-ä", ""},
		{strings.Repeat("a", 255), ""},
		{"", `"" is empty`},
		{".", `"." is not a plain file name: it names a directory`},
		{"..", `".." is not a plain file name: it names a directory`},
		{"a/b", `"a/b" is not a plain file name: it contains /`},
		{`a\b`, `"a\\b" is not a plain file name: it contains \`},
		{strings.Repeat("a", 256), `is 256 bytes long, more than the 255 a file name may have`},
		{".akvvm-records", `".akvvm-records" starts with ".akvvm", which akvvm reserves for its own files in the store directory`},
		{".akvvmx", `starts with ".akvvm"`},
		{"a\nb", `"a\nb" contains U+000A (LINE FEED), a control character`},
		{"a\tb", `contains U+0009 (CHARACTER TABULATION), a control character`},
		{"a\x00b", `contains U+0000 (NUL), a control character`},
		{"a\x7fb", `contains U+007F (DELETE), a control character`},
		{"a\u0085b", `contains U+0085, a control character`},
		{"cert\u202Egpj.pem", `"cert\u202egpj.pem" contains U+202E (RIGHT-TO-LEFT OVERRIDE), a bidirectional control character that makes the text display differently from what it is`},
		{"a\u2066b", `contains U+2066 (LEFT-TO-RIGHT ISOLATE), a bidirectional control`},
		{"a\u200Fb", `contains U+200F (RIGHT-TO-LEFT MARK), a bidirectional control`},
		{"a\u061Cb", `contains U+061C (ARABIC LETTER MARK), a bidirectional control`},
		{"ab\xffc", `"ab\xffc" is not valid UTF-8: byte 0xFF at offset 2`},
		{"a\xe2\x80", `is not valid UTF-8: byte 0xE2 at offset 1`},
	}
	for _, tt := range tests {
		err := CheckLinkName(tt.name)
		if tt.want == "" {
			if err != nil {
				t.Errorf("CheckLinkName(%q) = %v, want nil", tt.name, err)
			}
			continue
		}
		var ne *NameError
		if !errors.As(err, &ne) {
			t.Errorf("CheckLinkName(%q) = %v, want a *NameError", tt.name, err)
			continue
		}
		if !strings.Contains(ne.Message(), tt.want) {
			t.Errorf("CheckLinkName(%q) message\n got %s\nwant %s", tt.name, ne.Message(), tt.want)
		}
		if !strings.HasPrefix(err.Error(), "customSymbolicLinkName ") || ne.Hint == "" {
			t.Errorf("CheckLinkName(%q) = %q, want the field name first and a hint", tt.name, err)
		}
	}
}

// TestCheckDirectory checks each rule and the exact text it reports.
func TestCheckDirectory(t *testing.T) {
	tests := []struct {
		dir  string
		want string
	}{
		{"/var/lib/waagent/Microsoft.Azure.KeyVault.Store", ""},
		{"/srv/app1/", ""},
		{"/srv/../etc/app", ""},
		{"/procfs", ""},
		{"/device", ""},
		{"", `"" is empty`},
		{"certs", `"certs" is relative, not an absolute directory`},
		{"/", `"/" is the root directory`},
		{"//", `is the root directory`},
		{"/srv/..", `is the root directory`},
		{"/proc", `"/proc" is in /proc, a file system of the kernel, not a directory for files`},
		{"/proc/self", `"/proc/self" is in /proc, a file system of the kernel`},
		{"/proc/self/cwd", `is in /proc`},
		{"/srv/../proc/1/root", `is in /proc`},
		{"//proc//self", `is in /proc`},
		{"/sys/kernel", `is in /sys`},
		{"/dev/shm", `is in /dev`},
		{"/srv/a\nb", `"/srv/a\nb" contains U+000A (LINE FEED), a control character`},
		{"/srv/\u202Eb", `contains U+202E (RIGHT-TO-LEFT OVERRIDE)`},
		{"/srv/\xc3", `is not valid UTF-8: byte 0xC3 at offset 5`},
	}
	for _, tt := range tests {
		err := CheckDirectory(tt.dir)
		if tt.want == "" {
			if err != nil {
				t.Errorf("CheckDirectory(%q) = %v, want nil", tt.dir, err)
			}
			continue
		}
		var ne *NameError
		if !errors.As(err, &ne) || !strings.Contains(ne.Message(), tt.want) {
			t.Errorf("CheckDirectory(%q) = %v, want a *NameError with %s", tt.dir, err, tt.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), "certificateStoreLocation ") || ne.Hint == "" {
			t.Errorf("CheckDirectory(%q) = %q, want the field name first and a hint", tt.dir, err)
		}
	}
}

// TestCheckStoreName checks the Windows store name rules.
func TestCheckStoreName(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{"MY", ""},
		{"TrustedPeople", ""},
		{"My Custom Store", ""},
		{"", `"" is empty`},
		{"  ", `"  " is empty`},
		{`LocalMachine\MY`, `"LocalMachine\\MY" is not a store name: it contains \`},
		{"MY\n", `contains U+000A (LINE FEED), a control character`},
		{"M\u202EY", `contains U+202E (RIGHT-TO-LEFT OVERRIDE)`},
		{"M\xffY", `is not valid UTF-8: byte 0xFF at offset 1`},
	}
	for _, tt := range tests {
		err := CheckStoreName(tt.name)
		if tt.want == "" {
			if err != nil {
				t.Errorf("CheckStoreName(%q) = %v, want nil", tt.name, err)
			}
			continue
		}
		var ne *NameError
		if !errors.As(err, &ne) || !strings.Contains(ne.Message(), tt.want) {
			t.Errorf("CheckStoreName(%q) = %v, want a *NameError with %s", tt.name, err, tt.want)
		}
	}
}
