//go:build linux

// Command rssrun runs a command and writes its peak resident set (KiB) to a
// file, for BenchmarkPeakRSS.
//
// The peak cannot be read from the rusage of a child the benchmark starts
// itself: Go starts children with vfork (CLONE_VM), so until exec the child
// shares the parent's memory, and Linux folds that memory's high-water mark
// into the child's ru_maxrss at exec. A child of a large benchmark process
// therefore reports at least the benchmark's own peak. rssrun is a small
// process (about 2 MB), so the figure it reports for its child is the
// child's own peak whenever that is above 2 MB.
//
// Usage: rssrun -o FILE -- COMMAND [ARG...]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	out := flag.String("o", "", "file to write the peak RSS (KiB) to")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: rssrun -o FILE -- COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "rssrun:", err)
		os.Exit(2)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	if werr := os.WriteFile(*out, fmt.Appendf(nil, "%d\n", rss), 0o600); werr != nil {
		fmt.Fprintln(os.Stderr, "rssrun:", werr)
		os.Exit(2)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
