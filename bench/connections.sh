#!/usr/bin/env bash
# Counts the connections and TLS handshakes of an initial "akvvm sync --once"
# (200 and 1,000 certificates, one vault) against the emulator offering
# HTTP/2 (as Key Vault) and HTTP/1.1 only, and writes
# bench/results/<UTC date>-<commit>-connections.txt.
#
# Usage: bench/connections.sh [OTHER_AKVVM_BINARY [LABEL]]
#
# The emulator and the agent are this tree's release build (as make package
# builds it). OTHER_AKVVM_BINARY, such as a build of an older commit, is
# measured the same way against the same emulator, for a before/after.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
commit=$(git rev-parse --short HEAD 2>/dev/null || echo dev)
dirty=""
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then dirty=" (work tree has uncommitted changes)"; fi
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-${commit}-connections.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp/akvvm" ./cmd/akvvm
export AKVVM_BENCH_BIN="$tmp/akvvm"

run() { # label, agent binary
	echo "## agent: $1"
	echo
	AKVVM_BENCH_AGENT_BIN="$2" go test -run='^$' -bench='^BenchmarkConnections$' -benchtime=3x -timeout=30m ./bench/ 2>&1 |
		grep -E '^(Benchmark|FAIL|ok|PASS|---)' || true
	echo
}
{
	echo "# akvvm connections per initial sync (bench/connections.sh, BenchmarkConnections)"
	echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit:   $(git rev-parse HEAD 2>/dev/null || echo unknown)${dirty}"
	echo "go:       $(go version)"
	echo "machine:  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "method:   one 'akvvm emulator --in-memory --throttle -1' process per protocol (proto=h2: HTTP/2 and"
	echo "          HTTP/1.1 offered by ALPN; proto=http1: --http1-only) with 1,000 EC-P256 certificates;"
	echo "          3 initial 'akvvm sync --once' runs per size into empty stores (Linux 3.0 settings,"
	echo "          --connect-to/--ca-file), the emulator's counters reset before each; figures per sync:"
	echo "          handshakes/op = TLS handshakes for the vault's host name (SNI), h2-handshakes/op = those"
	echo "          that negotiated h2, accepted/op = TCP connections accepted, req/op = vault requests,"
	echo "          max-handshakes = the most of one sync; ns/op = wall time of one sync (shared machine, noisy)"
	echo
	run "this tree ($commit)" "$AKVVM_BENCH_BIN"
	if [ $# -gt 0 ]; then run "${2:-$1}" "$1"; fi
} | tee "$out"
echo "results written to $out"
