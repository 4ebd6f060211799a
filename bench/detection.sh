#!/usr/bin/env bash
# Measures what an unchanged poll costs in requests per change detection
# strategy (BenchmarkDetection) and writes
# bench/results/<UTC date>-<commit>-detection.txt: a header, the table of
# requests per unchanged poll, then the raw go test output.
#
# Usage: bench/detection.sh [extra go test flags, e.g. -benchtime=50x]
# About 15 seconds on the 2-core machine of record.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
commit=$(git rev-parse --short HEAD 2>/dev/null || echo dev)
dirty=""
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then dirty=" (work tree has uncommitted changes)"; fi
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-${commit}-detection.txt"
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
go test -run='^$' -bench='^BenchmarkDetection$' -benchtime=20x -v "$@" ./bench/ >"$raw" 2>&1 || { cat "$raw"; exit 1; }
{
	echo "# akvvm change detection: requests per unchanged poll"
	echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit:   $(git rev-parse HEAD 2>/dev/null || echo unknown)${dirty}"
	echo "go:       $(go version)"
	echo "machine:  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo
	echo "One poll is one agent pass over every observed certificate of the vault, nothing changed;"
	echo "auto = the agent's choice, per-secret = the vault's list of secrets refused (what every poll"
	echo "cost before the choice). Requests counted by the emulator (bench/detection_bench_test.go)."
	echo
	echo "| vault | strategy chosen | requests/poll (auto) | vault pages | version listings | requests/poll (per-secret) | vault pages in the 4 warm-up passes |"
	echo "|---|---|---|---|---|---|---|"
	awk '
		/strategy [a-z-]+: per-secret cost/ { split($0, f, "strategy "); split(f[2], g, ":"); chosen[cur] = g[1] }
		/^BenchmarkDetection\/[^ ]+\/(auto|per-secret)-[0-9]+[ \t]/ {
			split($1, p, "/"); c = p[2]; s = p[3]; sub(/-[0-9]+$/, "", s)
			for (i = 2; i <= NF; i++) { m[$(i)] = $(i-1) }
			if (s == "auto") { auto[c] = m["req/poll"]; pages[c] = m["vaultpages/poll"]; lists[c] = m["versionlists/poll"]; learn[c] = m["warmup-vaultpages"]; order[++n] = c }
			else { per[c] = m["req/poll"] }
			delete m
		}
		/^BenchmarkDetection\/[^ \/]+\/auto$/ { split($1, p, "/"); cur = p[2] }
		/^BenchmarkDetection\/[^ \/]+\/per-secret$/ { cur = "" }
		END { for (i = 1; i <= n; i++) { c = order[i]; printf "| %s | %s | %s | %s | %s | %s | %s |\n", c, chosen[c], auto[c], pages[c], lists[c], per[c], learn[c] } }
	' "$raw"
	echo
	echo "## Raw output"
	echo
	cat "$raw"
} >"$out"
sed -n '1,/^## Raw/p' "$out"
echo "results written to $out"
