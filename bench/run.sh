#!/usr/bin/env bash
# Runs akvvm's benchmarks and writes the results to bench/results/<date>-<commit>.txt.
# Usage: bench/run.sh [extra go test flags, e.g. -benchtime=20x]
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-$(git rev-parse --short HEAD 2>/dev/null || echo dev).txt"
{
	echo "# akvvm benchmarks, $(go version), $(nproc) cores, commit $(git rev-parse HEAD 2>/dev/null || echo unknown)"
	go test -run='^$' -bench=. -benchmem "$@" ./bench/ ./internal/emulator/ ./internal/emulator/pki/
} | tee "$out"
echo "results written to $out"
