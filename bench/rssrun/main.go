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
// Beside the peak it writes the largest anonymous resident set (RssAnon in
// /proc/PID/status: heap, stacks, runtime data; not the executable's pages)
// seen by sampling every millisecond while the child runs. The two differ
// by the file-backed pages of the binary, which the page cache shares
// between processes of the same executable and can reclaim.
//
// Usage: rssrun -o FILE -- COMMAND [ARG...]
// FILE receives "PEAK_KIB ANON_PEAK_KIB".
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
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
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "rssrun:", err)
		os.Exit(2)
	}
	done := make(chan struct{})
	anon := make(chan int64, 1)
	go func() { anon <- sampleAnon(cmd.Process.Pid, done) }()
	err := cmd.Wait()
	close(done)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "rssrun:", err)
		os.Exit(2)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	if werr := os.WriteFile(*out, fmt.Appendf(nil, "%d %d\n", rss, <-anon), 0o600); werr != nil {
		fmt.Fprintln(os.Stderr, "rssrun:", werr)
		os.Exit(2)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}

// sampleAnon returns the largest RssAnon of pid seen until done is closed.
func sampleAnon(pid int, done <-chan struct{}) int64 {
	path := fmt.Sprintf("/proc/%d/status", pid)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var peak int64
	for {
		if kib, ok := rssAnon(path); ok {
			peak = max(peak, kib)
		}
		select {
		case <-done:
			return peak
		case <-tick.C:
		}
	}
}

// rssAnon reads the RssAnon line (KiB) of a /proc/PID/status file.
func rssAnon(path string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("RssAnon:")); ok {
			f := bytes.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			kib, err := strconv.ParseInt(string(f[0]), 10, 64)
			return kib, err == nil
		}
	}
	return 0, false
}
