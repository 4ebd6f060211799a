#!/usr/bin/env bash
# Runs akvvm's benchmarks and writes bench/results/<UTC date>-<commit>.txt:
# a header (machine, commit, settings of the run), the summary table of
# targets vs measured (bench/summary), then the raw go test output.
#
# Usage: bench/run.sh [extra go test flags for BenchmarkSync, e.g. -count=3]
#
# Environment:
#   AKVVM_BENCH_PASS_BUDGET  longest one agent pass may run before it is cut
#                            and reported as a lower bound (default 100s)
#   AKVVM_BENCH_DIR          where store directories are created (default
#                            $TMPDIR or /tmp); use a disk-backed file system
#   AKVVM_BENCH_BIN          the akvvm binary for BenchmarkPeakRSS (default:
#                            built here with CGO_ENABLED=0 -trimpath -ldflags='-s -w', as make package does)
#   AKVVM_BENCH_METRICS      1: BenchmarkSync's agent runs with metrics on
#                            (observer and Key Vault request counter)
#
# About 5 minutes on the 2-core machine of record when the agent scales
# linearly, up to about 10 when passes are cut at the budget.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
commit=$(git rev-parse --short HEAD 2>/dev/null || echo dev)
dirty=""
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then dirty=" (work tree has uncommitted changes)"; fi
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-${commit}.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
started=$SECONDS

if [ -z "${AKVVM_BENCH_BIN:-}" ]; then
	AKVVM_BENCH_BIN="$tmp/akvvm"
	# As `make package` builds the release: static, cgo off.
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$AKVVM_BENCH_BIN" ./cmd/akvvm
fi
export AKVVM_BENCH_BIN

storefs=$(df -T "${AKVVM_BENCH_DIR:-${TMPDIR:-/tmp}}" 2>/dev/null | awk 'NR==2 {print $2}')
{
	echo "# akvvm benchmarks"
	echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit:   $(git rev-parse HEAD 2>/dev/null || echo unknown)${dirty}"
	echo "go:       $(go version)"
	echo "machine:  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "store fs: ${storefs:-unknown} (${AKVVM_BENCH_DIR:-${TMPDIR:-/tmp}})"
	echo "budget:   ${AKVVM_BENCH_PASS_BUDGET:-100s} per agent pass"
	echo "binary:   $(stat -c %s "$AKVVM_BENCH_BIN") bytes ($AKVVM_BENCH_BIN)"
	echo "flags:    ${*:-(none)}"
	echo "metrics:  ${AKVVM_BENCH_METRICS:-0} (AKVVM_BENCH_METRICS; 1 = BenchmarkSync's agent with metrics on)"
} >"$tmp/header"
cat "$tmp/header"

# 1. Agent vs floors, N = 100, 1,000, 10,000, one in-process emulator.
# 2. Peak RSS of the release binary against an emulator process.
# 3. The emulator's own benchmarks, for reference.
# A failing step does not stop the run: its output and a FAILED line go into
# the results, and the summary lists the failure and marks what is missing.
step() {
	"$@" 2>&1 || echo "FAILED: go test exited with status $? (${*})"
}
: >"$tmp/raw"
step go test -run='^$' -bench='^BenchmarkSync$' -benchmem -timeout=60m -v "$@" ./bench/ | tee -a "$tmp/raw"
step go test -run='^$' -bench='^BenchmarkPeakRSS$' -benchtime=3x -timeout=30m -v ./bench/ | tee -a "$tmp/raw"
step go test -run='^$' -bench=. -benchmem ./internal/emulator/ ./internal/emulator/pki/ | tee -a "$tmp/raw"

go run ./bench/summary <"$tmp/raw" >"$tmp/summary"
{
	cat "$tmp/header"
	echo "duration: $((SECONDS - started)) s for the whole run"
	echo
	cat "$tmp/summary"
	echo
	echo "## Raw output (go test -bench; compare runs with benchstat)"
	echo
	cat "$tmp/raw"
} >"$out"
cat "$tmp/summary"
echo "results written to $out"
