#!/usr/bin/env bash
# Every tracked C file must match .clang-format (`make format` fixes them).
# Prints one line per file that differs and "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
while read -r f; do
	if clang-format "$f" | cmp -s - "$f"; then
		pass=$((pass + 1))
	else
		echo "not formatted: $f (make format)"
		fail=$((fail + 1))
	fi
done < <(git ls-files '*.c' '*.h')
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
