package store

import (
	"path"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzDirectory checks that every directory CheckDirectory accepts is,
// once cleaned, an absolute path of printable UTF-8 below / and outside
// the kernel's file systems.
func FuzzDirectory(f *testing.F) {
	for _, seed := range []string{
		ExampleDirectory, "/srv/app1/", "/srv/../etc", "/", "//", "/proc", "/proc/self", "//proc//self/",
		"/srv/../proc/1", "/sys", "/dev/shm", "/device", "certs", "", "/srv/a\nb", "/srv/\u202eb", "/srv/\xff", "/./proc",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, dir string) {
		if CheckDirectory(dir) != nil {
			return
		}
		clean := path.Clean(dir)
		if !utf8.ValidString(dir) || !strings.HasPrefix(clean, "/") || clean == "/" || strings.Contains(clean, "/../") || strings.HasSuffix(clean, "/..") {
			t.Fatalf("CheckDirectory accepted %q (cleaned %q)", dir, clean)
		}
		for _, k := range kernelDirs {
			if clean == k || strings.HasPrefix(clean, k+"/") {
				t.Fatalf("CheckDirectory accepted %q, in %s", dir, k)
			}
		}
		for _, r := range dir {
			if unicode.IsControl(r) || IsBidiControl(r) {
				t.Fatalf("CheckDirectory accepted %q, which contains %s", dir, CodePoint(r))
			}
		}
	})
}
