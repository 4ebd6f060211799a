#!/usr/bin/env bash
# Runs the Windows tests for real under Wine: the packages with Windows code
# are built for windows/amd64 and their test binaries run through
# scripts/wine/go_windows_amd64_exec. On a fresh Debian machine it installs
# Wine first (as root) and builds the Wine prefix itself. Idempotent.
# Usage: scripts/test-windows.sh [go test flags...]
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v wine >/dev/null || need+=(wine64 wine)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64-win32)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "test-windows: Wine is missing (${need[*]}); run as root once to install it, or install: apt-get install --no-install-recommends wine64 wine gcc-mingw-w64-x86-64-win32" >&2
		exit 1
	fi
	echo "==> installing Wine (${need[*]})"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine64 wine gcc-mingw-w64-x86-64-win32 >/dev/null
fi

# shellcheck source=wine/env.sh
. scripts/wine/env.sh
akvvm_wine_prefix
export PATH="$PWD/scripts/wine:$PATH"

# The packages with Windows-only code or tests.
pkgs=()
for dir in internal/store/winstore internal/notify internal/winsvc internal/wine internal/handler; do
	[ -d "$dir" ] && pkgs+=("./$dir/...")
done
for pkg in $(GOOS=windows go list -f '{{if .TestGoFiles}}{{.ImportPath}}{{end}}' ./... 2>/dev/null); do
	dir=$(GOOS=windows go list -f '{{.Dir}}' "$pkg")
	if ls "$dir"/*_windows_test.go >/dev/null 2>&1; then
		pkgs+=("$pkg")
	fi
done
echo "==> GOOS=windows go test under Wine ($WINEPREFIX)"
GOOS=windows GOARCH=amd64 go test -count=1 "$@" $(printf '%s\n' "${pkgs[@]}" | sort -u)

# The end-to-end flow with the Windows store: the Linux test in test/e2e
# builds akvvm.exe, runs it under Wine (the environment exported by env.sh)
# against an emulator process and reads the stores back with a separate
# Windows program. CI=1 turns a missing Wine setup into a failure.
echo "==> e2e: akvvm.exe under Wine against the emulator ($WINEPREFIX)"
go test -count=1 -run 'Windows' ./test/e2e/
