#!/usr/bin/env bash
# Simulates fleets of akvvm agents on one vault (bench/fleet, TestFleet) and
# writes bench/results/<UTC date>-<commit>-fleet.txt: a header, one table per
# fleet size (scenarios a start, b rotation, c throttled, and the steady
# state between them), then the raw go test output.
#
# Usage: bench/fleet.sh [SIZES [CERTS]]   default SIZES=1000,10000 CERTS=10
# About 25 minutes for both sizes on the 2-core machine of record.
#
# AKVVM_FLEET_DIR: where the machines' stores go. Default: a directory on
# /dev/shm (tmpfs) reached through a symlink in $TMPDIR (the settings refuse
# a store under /dev), so that 100,000 fsyncs cost no real time; virtual
# times and request counts do not depend on it.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-1000,10000}
certs=${2:-10}
mkdir -p bench/results
commit=$(git rev-parse --short HEAD 2>/dev/null || echo dev)
dirty=""
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then dirty=" (work tree has uncommitted changes)"; fi
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-${commit}-fleet.txt"
tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp" "${shm:-}"; }
trap cleanup EXIT
dir=${AKVVM_FLEET_DIR:-}
if [ -z "$dir" ]; then
	if [ -d /dev/shm ] && [ -w /dev/shm ]; then
		shm=$(mktemp -d /dev/shm/akvvm-fleet-XXXXXX)
		ln -s "$shm" "$tmp/stores"
	else
		mkdir "$tmp/stores"
	fi
	dir="$tmp/stores"
fi
raw="$tmp/raw.txt"
AKVVM_FLEET_AGENTS="$sizes" AKVVM_FLEET_CERTS="$certs" AKVVM_FLEET_DIR="$dir" AKVVM_FLEET_OUT="$tmp/tables.md" \
	go test -run='^TestFleet$' -count=1 -timeout=120m -v ./bench/fleet/ >"$raw" 2>&1 || { cat "$raw"; exit 1; }
{
	echo "# akvvm fleet simulation (bench/fleet.sh, bench/fleet TestFleet)"
	echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit:   $(git rev-parse HEAD 2>/dev/null || echo unknown)${dirty}"
	echo "go:       $(go version)"
	echo "machine:  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "stores:   $(df -T "$dir/" 2>/dev/null | awk 'NR==2 {print $2}') ($dir)"
	echo "method:   N machines, each the real agent (Linux 3.0 settings through config.Parse and"
	echo "          agent.SpecFromSettings; keyvault.Clients over the official azsecrets client; the identity"
	echo "          credential; transport.NewClient's HTTP clients; its own filestore directory and status"
	echo "          file), all observing the same $certs EC-P256 certificates of one vault of one in-process"
	echo "          emulator with Key Vault's limit (4,000 per 10 s, fixed windows, 429 + Retry-After beyond)."
	echo "          TIME IS VIRTUAL (testing/synctest): every clock (agents, azcore, net/http, emulator) is the"
	echo "          bubble's, which advances only when every goroutine waits on a timer or another goroutine;"
	echo "          a request takes no virtual time, so the polling interval (1 h), jitter, back-off,"
	echo "          Retry-After and the 10 s window are production values, unscaled, and CPU speed changes"
	echo "          only the real time. Connections are in-memory pipes (net.Pipe; synctest cannot see a"
	echo "          socket wait) carrying real TLS 1.3 and HTTP/2 (HTTP/1.1 to the identity endpoint); each"
	echo "          machine has its own connections, TLS sessions, tokens and store. Shared, unlike real"
	echo "          machines: the process (one Go runtime, certbundle's chain-check cache) and the CPU."
	echo "          Timeline: (a) all start at t=0; steady 2.5 intervals; (b) rotate cert00, wait until every"
	echo "          machine has it; steady 0.5 interval; (c) limit lowered to N/40 per 10 s, rotate cert01."
	echo "          A request is counted by the emulator in the phase it arrived in; received includes 429s."
	echo "          failed machines = not converged by the phase's deadline, or an initial sync given up."
	echo
	cat "$tmp/tables.md"
	echo "## Raw output"
	echo
	grep -v '^=== RUN' "$raw"
} >"$out"
sed -n '1,/^## Raw/p' "$out"
echo "results written to $out"
