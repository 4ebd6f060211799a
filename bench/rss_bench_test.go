//go:build linux

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/akvvm/akvvm/internal/emulator"
)

const rssVault = "rssvault"

// BenchmarkPeakRSS runs the release build, "akvvm sync --once", against an
// "akvvm emulator" process (its memory is not counted) with N certificates,
// and reports the sync process's peak resident set from getrusage
// (peak-KiB; syscall.Rusage.Maxrss is in KiB on Linux):
//
//   - peak-KiB: the largest over the timed passes, each an initial sync into
//     an empty store directory (ns/op is the wall time of one process);
//   - unchanged-peak-KiB: one more, untimed, unchanged pass over the full store.
//
// The binary is $AKVVM_BENCH_BIN when set (bench/run.sh builds it with
// -trimpath -ldflags='-s -w'), otherwise built that way into a temporary
// directory.
func BenchmarkPeakRSS(b *testing.B) {
	bin := releaseBinary(b)
	rssrun := buildTool(b, "./rssrun")
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("certs=%d", n), func(b *testing.B) {
			emu := startEmulatorProcess(b, bin, n)
			settings := func(dir string) string {
				var observed []map[string]any
				for i := range n {
					observed = append(observed, map[string]any{
						"url":                      fmt.Sprintf("https://%s.vault.azure.net/secrets/cert%05d", rssVault, i),
						"certificateStoreLocation": dir,
					})
				}
				data, err := json.Marshal(map[string]any{
					"secretsManagementSettings": map[string]any{
						"pollingIntervalInS": "3600", "requireInitialSync": true, "observedCertificates": observed,
					},
					"authenticationSettings": map[string]any{"msiEndpoint": emu.IMDSEndpoint},
				})
				if err != nil {
					b.Fatal(err)
				}
				path := filepath.Join(b.TempDir(), "settings.json")
				if err := os.WriteFile(path, data, 0o600); err != nil {
					b.Fatal(err)
				}
				return path
			}
			run := func(settingsFile, stateDir string) (int64, int64) {
				return peakRSS(b, rssrun, "akvvm sync --once", bin, "sync", "--once", "--settings", settingsFile, "--state-dir", stateDir,
					"--log-level", "warn", "--connect-to", "*.vault.azure.net="+emu.HTTPSAddr, "--ca-file", emu.CAFile)
			}
			var peak, anon int64
			var dir, file, stateDir string
			for b.Loop() {
				b.StopTimer()
				if dir != "" {
					_ = os.RemoveAll(dir)
				}
				dir = storeDir(b)
				file, stateDir = settings(dir), b.TempDir()
				b.StartTimer()
				p, a := run(file, stateDir)
				peak, anon = max(peak, p), max(anon, a)
			}
			b.StopTimer()
			unchanged, unchangedAnon := run(file, stateDir)
			floor, floorAnon := floorRSS(b, rssrun, emu, n)
			b.ReportMetric(float64(peak), "peak-KiB")
			b.ReportMetric(float64(unchanged), "unchanged-peak-KiB")
			b.ReportMetric(float64(max(anon, unchangedAnon)), "anon-peak-KiB")
			b.ReportMetric(float64(floor), "floor-peak-KiB")
			b.ReportMetric(float64(floorAnon), "floor-anon-peak-KiB")
		})
	}
}

// floorRSS runs the bare job (bench/rssfloor, built as akvvm is released)
// for n certificates into an empty directory and returns its peak RSS and
// its anonymous peak.
func floorRSS(b *testing.B, rssrun string, emu emulator.ReadyInfo, n int) (int64, int64) {
	b.Helper()
	bin := buildTool(b, "./rssfloor")
	return peakRSS(b, rssrun, "rssfloor", bin, "-vault-url", "https://"+rssVault+".vault.azure.net", "-vault", rssVault,
		"-imds", emu.IMDSEndpoint, "-connect-to", "*.vault.azure.net="+emu.HTTPSAddr, "-ca-file", emu.CAFile,
		"-dir", storeDir(b), "-n", fmt.Sprint(n))
}

// peakRSS runs bin with args through bench/rssrun and returns the peak
// RSS of that process alone and its sampled anonymous peak, in KiB. The
// rusage of a child started from this (large) process would include this
// process's own peak (see rssrun).
func peakRSS(b *testing.B, rssrun, what, bin string, args ...string) (int64, int64) {
	b.Helper()
	file := filepath.Join(b.TempDir(), "rss")
	cmd := exec.Command(rssrun, append([]string{"-o", file, "--", bin}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", what, err, tail(out.String()))
	}
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	var kib, anon int64
	if _, err := fmt.Sscan(string(data), &kib, &anon); err != nil {
		b.Fatalf("rssrun wrote %q: %v", data, err)
	}
	return kib, anon
}

// buildTool builds a command of the bench module (./rssfloor, ./rssrun) as
// akvvm is released and returns its path.
func buildTool(b *testing.B, pkg string) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), path.Base(pkg))
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg)
	build.Env = releaseEnv()
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// releaseBinary returns $AKVVM_BENCH_BIN, or builds cmd/akvvm as released.
func releaseBinary(b *testing.B) string {
	b.Helper()
	if bin := os.Getenv("AKVVM_BENCH_BIN"); bin != "" {
		return bin
	}
	return buildTool(b, "../cmd/akvvm")
}

// releaseEnv is the environment of a release build: `make package` builds
// with cgo off, a static binary that maps no C library (with cgo on, libc
// alone adds about 0.8 MB to the peak RSS of every command).
func releaseEnv() []string { return append(os.Environ(), "CGO_ENABLED=0") }

// startEmulatorProcess starts "akvvm emulator" (in memory, throttling off,
// random ports, and the flags extra) with one vault of n EC-P256
// certificates and stops it at the end of the benchmark.
func startEmulatorProcess(b *testing.B, bin string, n int, extra ...string) emulator.ReadyInfo {
	b.Helper()
	dir := b.TempDir()
	readyFile := filepath.Join(dir, "ready.json")
	args := []string{"emulator", "--in-memory", "--listen", "127.0.0.1:0", "--imds-listen", "127.0.0.1:0",
		"--throttle", "-1", "--vault", rssVault, "--ready-file", readyFile, "--log-level", "warn"}
	cmd := exec.Command(bin, append(args, extra...)...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	var ready emulator.ReadyInfo
	deadline := time.Now().Add(time.Minute)
	for {
		data, err := os.ReadFile(readyFile)
		if err == nil && json.Unmarshal(data, &ready) == nil && ready.AdminURL != "" {
			break
		}
		select {
		case <-exited:
			b.Fatalf("akvvm emulator exited:\n%s", tail(out.String()))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("akvvm emulator wrote no ready file within a minute:\n%s", tail(out.String()))
		}
	}
	admin, err := emulator.NewAdminClient(ready.AdminURL, ready.CAFile)
	if err != nil {
		b.Fatal(err)
	}
	next := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) * 2 {
		wg.Go(func() {
			for i := range next {
				name := fmt.Sprintf("cert%05d", i)
				if _, err := admin.CreateCertificate(context.Background(), rssVault, name, emulator.CertificateSpec{KeyType: "EC-P256", DNSNames: []string{name + ".example.com"}}); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return ready
}

// syncBuffer is a bytes.Buffer safe for a child's stdout and stderr.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// tail returns the last lines of a process's output for an error message.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
