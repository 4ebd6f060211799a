package filestore

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// FuzzParseRecord feeds parseRecord what a hostile neighbour could write
// into a record file. A record it accepts names only plain files inside
// the store directory (the link, each version file and each pending temp
// file) and survives an encode and parse round trip unchanged.
func FuzzParseRecord(f *testing.F) {
	ref := store.Ref{Vault: "kv1", Name: "web"}
	good := newRecord(ref)
	good.Link = "web.pem"
	good.Versions = []versionState{{Version: "v1", File: versionFileName(ref, "v1"), Pending: ".akvvm-tmp-" + tempTag(ref) + "-1"}}
	data, err := good.encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"format":1,"vault":"kv1","name":"web","link":"../../etc/passwd"}`))
	f.Add([]byte(`{"format":1,"vault":"kv1","name":"web","versions":[{"version":"v1","file":"/etc/shadow"}]}`))
	f.Add([]byte(`{"format":1,"vault":"kv1","name":"web","versions":[{"version":"v1","file":"kv1.web.v1","pending":"../x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseRecord(data, ref)
		if err != nil {
			return
		}
		dir := "/store"
		names := []string{r.Link}
		for _, v := range r.Versions {
			names = append(names, v.File, v.Pending)
		}
		for _, n := range names {
			if n == "" {
				continue
			}
			if p := filepath.Join(dir, n); filepath.Dir(p) != dir || strings.ContainsAny(n, "/\\\x00") {
				t.Fatalf("accepted record names %q, which is not a plain file in the store directory", n)
			}
		}
		again, err := r.encode()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := parseRecord(again, ref)
		if err != nil {
			t.Fatalf("re-encoded record does not parse: %v", err)
		}
		if enc2, _ := r2.encode(); string(enc2) != string(again) {
			t.Fatalf("round trip changed the record:\n%s\n%s", again, enc2)
		}
	})
}
