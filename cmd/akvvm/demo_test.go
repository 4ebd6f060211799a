package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestDemoNeverRemovesADirectoryItDidNotCreate(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(mine, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runDemo(context.Background(), io.Discard, dir, false, false); err == nil {
		t.Error("demo accepted a non-empty --dir")
	}
	if data, err := os.ReadFile(mine); err != nil || string(data) != "keep me" {
		t.Errorf("the user's file after the demo: %q, %v", data, err)
	}
}

func TestDemoDirCleanupKeepsAnEmptyDirectoryTheUserNamed(t *testing.T) {
	dir := t.TempDir()
	got, cleanup, err := demoDir(dir)
	if err != nil || got != dir {
		t.Fatalf("demoDir(%s) = %s, %v", dir, got, err)
	}
	for _, name := range []string{"store", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cleanup()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("after cleanup: %v, %v; want the named directory kept, empty", entries, err)
	}
}
