//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkRecords itself: on a hand-made store it accepts what is consistent
// and names each inconsistency the kill -9 and withdrawal tests look for.
func TestCheckRecordsNamesWhatIsWrong(t *testing.T) {
	t.Parallel()
	const k = "v.web"
	record := func(link string, versions ...string) string {
		s := `{"format": 2, "vault": "v", "name": "web", "link": "` + link + `", "versions": [`
		for i, v := range versions {
			if i > 0 {
				s += ","
			}
			s += v
		}
		return s + "]}\n"
	}
	entry := func(version, pending string) string {
		s := `{"version": "` + version + `", "file": "v.web.` + version + `", "thumbprint": "x"`
		if pending != "" {
			s += `, "pending": "` + pending + `"`
		}
		return s + "}"
	}
	for _, tc := range []struct {
		name   string
		files  []string // version files on disk
		link   string   // link target, "" for none
		record string   // "" for none
		want   []string // substrings of the error; none: no error
	}{
		{name: "consistent", files: []string{"a", "b"}, link: "b",
			record: record(k, entry("a", ""), entry("b", ""))},
		{name: "pending whose file arrived", files: []string{"a", "b"}, link: "b",
			record: record(k, entry("a", ""), entry("b", ".akvvm-tmp-1"))},
		{name: "pending whose file never arrived", files: []string{"a"}, link: "a",
			record: record(k, entry("a", ""), entry("b", ".akvvm-tmp-1"))},
		{name: "unrecorded version file", files: []string{"a", "b"}, link: "a",
			record: record(k, entry("a", "")),
			want:   []string{"v.web.b is on disk but the record", "does not list it"}},
		{name: "stale entry", files: []string{"a"}, link: "a",
			record: record(k, entry("a", ""), entry("b", "")),
			want:   []string{"lists version b (not pending), but its file v.web.b is not on disk"}},
		{name: "other link", files: []string{"a"}, link: "a",
			record: record("other", entry("a", "")),
			want:   []string{`has link "other", but the link on disk is "v.web"`}},
		{name: "link not recorded", files: []string{"a"}, link: "a",
			record: record("", entry("a", "")),
			want:   []string{"the link v.web is on disk (-> v.web.a) but the record"}},
		{name: "recorded link missing", files: []string{"a"},
			record: record(k, entry("a", "")),
			want:   []string{`has link "v.web", which is not on disk`}},
		{name: "no record", files: []string{"a"}, link: "a",
			want: []string{"no record .akvvm-records/v.web.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, v := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, k+"."+v), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.link != "" {
				if err := os.Symlink(filepath.Join(dir, k+"."+tc.link), filepath.Join(dir, k)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Mkdir(filepath.Join(dir, recordsDirName), 0o700); err != nil {
				t.Fatal(err)
			}
			if tc.record != "" {
				if err := os.WriteFile(filepath.Join(dir, recordsDirName, k+".json"), []byte(tc.record), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			view, err := viewStore(dir, []string{k})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = checkRecords(dir, view, []string{k})
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("want no error, got:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one saying %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}
