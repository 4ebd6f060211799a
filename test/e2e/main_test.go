//go:build linux

// Package e2e runs the built akvvm binary against an emulator process, as a
// user would: real processes, real TLS, real files.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the akvvm executable built for this test run.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "akvvm-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "akvvm")
	build := exec.Command("go", "build", "-o", binary, "github.com/akvvm/akvvm/cmd/akvvm")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build akvvm:", err)
		return 1
	}
	return m.Run()
}
