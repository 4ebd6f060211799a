#!/usr/bin/env bash
# Verifies the akvvm_service systemd unit with systemd-analyze. On Debian it
# installs the systemd package first when run as root (tests never install).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd
	else
		echo "verify-unit: systemd-analyze missing and not root: the unit check will skip" >&2
	fi
fi
go test -count=1 -run '^TestSystemdUnitVerifies$' -v ./packaging/
