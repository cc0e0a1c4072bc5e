#!/usr/bin/env bash
# The library/command-line line (README "Architecture"): no file of
# user/lib includes a header of user/cli, and user/ takes nothing from bpf/
# but the ABI header. The Makefile already keeps user/cli off the library's
# include path; this also catches a relative "../cli/..." include.
# Prints one line per offending include and "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
cli_headers=$(git ls-files 'user/cli/*.h' | xargs -rn1 basename)
while read -r f; do
	bad=""
	while IFS= read -r inc; do
		h=${inc##*/}
		case "$inc" in
		*cli/*) bad="$bad $inc" ;;
		*bpf/*) [ "$h" = tapis_abi.h ] || bad="$bad $inc" ;;
		*) grep -qxF "$h" <<<"$cli_headers" && bad="$bad $inc" ;;
		esac
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	if [ -n "$bad" ]; then
		echo "$f includes$bad (the library must not depend on the command line or on bpf/ internals)"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
done < <(git ls-files 'user/lib/*.c' 'user/lib/*.h')
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
