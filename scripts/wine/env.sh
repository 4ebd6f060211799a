# Sourced by the Wine test scripts: the environment every Wine run uses and
# akvvm_wine_prefix, which creates the prefix once (safe to call in parallel).
# AKVVM_WINEPREFIX overrides where the prefix lives.

: "${AKVVM_WINEPREFIX:=${XDG_CACHE_HOME:-$HOME/.cache}/akvvm/wine-prefix}"
export WINEPREFIX="$AKVVM_WINEPREFIX"
export WINEARCH=win64
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="mscoree,mshtml="
export DISPLAY=

akvvm_wine_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# akvvm_wine_prefix creates the prefix with the ProcessPrng shim, under a
# lock, unless it is already complete, then starts a persistent wineserver.
akvvm_wine_prefix() {
	local ready="$WINEPREFIX/.akvvm-ready"
	if [ ! -e "$ready" ]; then
		mkdir -p "$(dirname "$WINEPREFIX")"
		(
			flock 9
			if [ ! -e "$ready" ]; then
				echo "akvvm: creating the Wine prefix $WINEPREFIX (about 15 s, once)" >&2
				wineboot -i >/dev/null 2>&1 || { echo "akvvm: wineboot -i failed" >&2; exit 1; }
				wineserver -w
				local dll
				dll=$(mktemp -d)
				x86_64-w64-mingw32-gcc -O2 -shared -nostdlib -e DllMain -o "$dll/bcryptprimitives.dll" \
					"$akvvm_wine_dir/processprng.c" -lkernel32 -ladvapi32 ||
					{ echo "akvvm: building bcryptprimitives.dll failed" >&2; exit 1; }
				cp "$dll/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
				rm -rf "$dll"
				touch "$ready"
			fi
		) 9>"$WINEPREFIX.lock" || return 1
	fi
	# A persistent wineserver with no inherited descriptors: otherwise every
	# program run waits for Wine's helpers to close the caller's pipes.
	# When one already runs for this prefix, the new one exits at once.
	# wineserver daemonizes once its socket is ready; a second one exits
	# with an error. A new server also gets Wine's helper processes
	# (services.exe, ...) started here, detached, so they never hold the
	# pipes of the first test binary.
	if wineserver -p30 </dev/null >/dev/null 2>&1 9>&-; then
		wine cmd.exe /c exit 0 </dev/null >/dev/null 2>&1 9>&- || true
	fi
}
