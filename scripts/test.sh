#!/usr/bin/env bash
# Runs the whole akvvm test suite. On a fresh Debian machine it first installs what the
# tests need (as root: apt packages; as anyone: Go tools into GOPATH/bin).
# Usage: scripts/test.sh            # everything
#        AKVVM_FUZZTIME=1000000x scripts/test.sh   # longer fuzzing (inputs per target)
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2   # staticcheck 2026.2.2, supports Go 1.26
# Fuzzing is bounded by a count of inputs, not by time: with a time limit,
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" at the end of the run (golang/go#75804, fixed in Go 1.27).
FUZZTIME=${AKVVM_FUZZTIME:-100000x}
GOBIN_DIR=$(go env GOPATH)/bin
export PATH="$GOBIN_DIR:$PATH"

step() { printf '\n==> %s\n' "$*"; }

step "tools"
# System packages the tests use: setfacl/getfacl (POSIX ACLs of the Linux store), openssl (interop
# tests), systemd-analyze (the akvvm_service unit check), make (the package build).
need_pkgs=()
command -v setfacl >/dev/null || need_pkgs+=(acl)
command -v openssl >/dev/null || need_pkgs+=(openssl)
command -v systemd-analyze >/dev/null || need_pkgs+=(systemd)
command -v make >/dev/null || need_pkgs+=(make)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
	else
		echo "note: ${need_pkgs[*]} not installed and not root; the tests that need them will skip" >&2
	fi
fi
if ! command -v staticcheck >/dev/null || ! staticcheck -version | grep -q "(${STATICCHECK_VERSION#v})"; then
	go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}"
fi
go mod download

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...
GOOS=windows go vet ./... ./test/e2e/testdata/winstoredump/

step "staticcheck"
staticcheck ./...
GOOS=windows staticcheck ./... ./test/e2e/testdata/winstoredump/

step "cross-build: handler packages for linux/windows x amd64/arm64 (make package)"
make package

step "fuzz (-fuzztime=${FUZZTIME} per target)"
# Each fuzz target is listed as "package FuzzName" by scripts/fuzz-targets.
while read -r pkg target; do
	[ -n "$pkg" ] || continue
	go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg"
done < <(scripts/fuzz-targets)

step "go test -race"
go test -race -count=1 ./...

step "Windows tests under Wine"
scripts/test-windows.sh
