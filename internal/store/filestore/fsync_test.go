package filestore

import (
	"io/fs"
	"sync"
	"testing"

	"github.com/akvvm/akvvm/internal/store"
)

// countingFS counts every call through the fileSystem seam.
type countingFS struct {
	osFS
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingFS) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
}

// take returns the counts so far and starts again.
func (c *countingFS) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	if out == nil {
		out = map[string]int{}
	}
	return out
}

func (c *countingFS) CreateTemp(dir, pattern string) (tempFile, error) {
	c.count("CreateTemp")
	f, err := c.osFS.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return countingFile{f, c}, nil
}

func (c *countingFS) Rename(o, n string) error  { c.count("Rename"); return c.osFS.Rename(o, n) }
func (c *countingFS) Symlink(t, l string) error { c.count("Symlink"); return c.osFS.Symlink(t, l) }
func (c *countingFS) Remove(name string) error  { c.count("Remove"); return c.osFS.Remove(name) }
func (c *countingFS) SyncDir(dir string) error  { c.count("SyncDir"); return c.osFS.SyncDir(dir) }
func (c *countingFS) Mkdir(n string, p fs.FileMode) error {
	c.count("Mkdir")
	return c.osFS.Mkdir(n, p)
}

type countingFile struct {
	tempFile
	c *countingFS
}

func (f countingFile) Write(p []byte) (int, error) { f.c.count("Write"); return f.tempFile.Write(p) }
func (f countingFile) Sync() error                 { f.c.count("Sync"); return f.tempFile.Sync() }

// fsyncs is the number of file and directory fsyncs in counts.
func fsyncs(counts map[string]int) int { return counts["Sync"] + counts["SyncDir"] }

// writes is the number of calls that change the file system in counts.
func writes(counts map[string]int) int {
	n := 0
	for _, v := range counts {
		n += v
	}
	return n
}

// The fsync budget per operation, as the doc comments state it.
func TestFsyncCount(t *testing.T) {
	s, dir, _ := newTestStore(t)
	cfs := &countingFS{}
	s.fs = cfs
	target := store.Target{Location: dir}
	v1 := newCert(t, testRef, "v1", ecKey, 1)
	v2 := newCert(t, testRef, "v2", ecKey, 1)

	steps := []struct {
		name    string
		do      func() error
		fsyncs  int
		anyCall bool // false: no call through the seam at all
	}{
		// version file, record, records directory, store directory, plus
		// the store directory once for the new records directory.
		{"first install", func() error { _, err := s.Install(t.Context(), target, v1); return err }, 5, true},
		// version file, record, records directory, store directory.
		{"new version", func() error { _, err := s.Install(t.Context(), target, v2); return err }, 4, true},
		{"unchanged install", func() error { _, err := s.Install(t.Context(), target, v2); return err }, 0, false},
		{"list", func() error { _, err := s.List(t.Context(), target, testRef); return err }, 0, false},
		{"recover", func() error { return s.Recover(t.Context(), []store.Target{target}) }, 0, false},
		// store directory (the link moved).
		{"make current", func() error { _, err := s.MakeCurrent(t.Context(), target, testRef, "v1"); return err }, 1, true},
		{"make current again", func() error { _, err := s.MakeCurrent(t.Context(), target, testRef, "v1"); return err }, 0, false},
		// store directory (the link moved); the record is unchanged.
		{"install of an installed version", func() error { _, err := s.Install(t.Context(), target, v2); return err }, 1, true},
		// store directory once for the removed file, then the record.
		{"delete", func() error { _, err := s.Delete(t.Context(), target, testRef, []string{"v1"}); return err }, 2, true},
	}
	cfs.take()
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := cfs.take()
		if n := fsyncs(got); n != st.fsyncs {
			t.Errorf("%s: %d fsyncs (%v), want %d", st.name, n, got, st.fsyncs)
		}
		if !st.anyCall && writes(got) != 0 {
			t.Errorf("%s: calls %v, want no write at all", st.name, got)
		}
	}
}
