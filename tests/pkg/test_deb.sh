#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/pkg/test_deb.sh - tapis installed like a service, from its package.
#
#   - make install / make uninstall into a DESTDIR: the files, the unit's
#     paths, an existing policy kept, nothing of ours left but an edited policy
#   - make deb builds the package; lintian finds no error or warning; the
#     policy is a conffile
#   - dpkg -i installs it; the installed tapis has the package's version and
#     `tapis check` accepts the installed example policy; the tapis group
#     and /var/log/tapis (root:tapis 0750) exist
#   - systemd-analyze verify passes on the installed units, and
#     `systemd-analyze security` rates them OK or better
#   - the hardening still allows BPF and XDP: in a sandbox made from the
#     unit's own settings (capability bounding set, no new privileges, a
#     read-only file system but its ReadWritePaths), the installed tapis
#     loads the example policy onto a veth in a namespace of its own (pins
#     0640 group tapis), edits, reloads and unloads it, and runs the unit's
#     command, `tapis watch`, through SIGHUP, a file change and SIGTERM; every
#     system call and socket family it makes is one the unit allows; `stats`
#     does the same in tapis-serve.service's sandbox (CAP_BPF, read-only
#     bpffs); the audit log is root:tapis 0640
#   - man 8 tapis renders without warnings and holds every command line and
#     option of `tapis --help`
#   - the bash completion loads and completes commands, options, --mode's
#     choices and the rule names of the running policy
#   - dpkg -i again (an upgrade) keeps an edited policy and the log directory
#   - dpkg -r takes a filter loaded at the default pin path off its interface
#     (a host veth pair that stays down); dpkg -P removes the audit log; the
#     files of the whole system are then the same list as before the install
#
# The package is purged on any exit, the test's namespace and pins removed.
# A machine where tapis is installed or loaded at /sys/fs/bpf/tapis is left
# alone: the test skips. Lines "ok - ..." / "not ok - ..." / "skip: ...", and
# last "N passed, N failed" (", N skipped"). Run as root after `make`:
#   bash tests/pkg/test_deb.sh

set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO" || exit 1

PASS=0
FAIL=0
SKIP=0
OUT=""
RC=0

finish() {
	if [ "$SKIP" -gt 0 ]; then
		echo "$PASS passed, $FAIL failed, $SKIP skipped"
	else
		echo "$PASS passed, $FAIL failed"
	fi
	[ "$FAIL" = 0 ]
	exit $?
}

ok() {
	PASS=$((PASS + 1))
	echo "ok - $1"
}
not_ok() {
	FAIL=$((FAIL + 1))
	echo "not ok - $1 ($2)"
}
skip() {
	SKIP=$((SKIP + 1))
	echo "skip: $*"
}
short() { printf '%s' "$1" | head -n 6 | tr '\n' '|' | cut -c1-400; }

# assert_ok "desc" CMD...: CMD exits 0 (output in $OUT, code in $RC)
assert_ok() {
	local desc=$1
	shift
	OUT=$("$@" 2>&1)
	RC=$?
	if [ "$RC" = 0 ]; then ok "$desc"; else not_ok "$desc" "exit $RC: $(short "$OUT")"; fi
	[ "$RC" = 0 ]
}
assert_eq() { # "desc" EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected '$2', got '$(short "$3")'"; fi
	[ "$2" = "$3" ]
}
assert_empty() { # "desc" TEXT: TEXT is empty
	if [ -z "$2" ]; then ok "$1"; else not_ok "$1" "$(short "$2")"; fi
	[ -z "$2" ]
}

# ---- prerequisites ------------------------------------------------------------

why=""
if [ "$(id -u)" != 0 ]; then
	why="not root"
else
	for b in dpkg-buildpackage dh lintian systemd-analyze man strace setpriv nsenter \
		unshare ip; do
		if ! command -v "$b" >/dev/null 2>&1; then
			why="$b not installed (make deps)"
			break
		fi
	done
	[ -n "$why" ] || [ -f /usr/share/bash-completion/bash_completion ] ||
		why="bash-completion not installed (make deps)"
fi
# CI (TAPIS_STRICT=1) runs as root after make deps: a missing tool there is
# a failure. The guards below are about this machine's state and stay skips.
if [ -n "$why" ] && [ "${TAPIS_STRICT:-}" = 1 ]; then
	not_ok "package test cannot run: $why" "TAPIS_STRICT=1: may not skip"
	finish
fi
# Never touch a tapis that is really installed or running here.
if [ -z "$why" ]; then
	st=$(dpkg-query -W -f='${Status}' tapis 2>/dev/null)
	if [ -n "$st" ] && [ "$st" != "unknown ok not-installed" ]; then
		why="a tapis package is on this machine ($st)"
	elif [ -e /etc/tapis ] || [ -e /etc/default/tapis ] || [ -e /usr/sbin/tapis ]; then
		why="tapis files exist outside the package (/etc/tapis, /etc/default/tapis or /usr/sbin/tapis)"
	elif [ -e /sys/fs/bpf/tapis ]; then
		why="a filter is loaded at /sys/fs/bpf/tapis (removing the package would unload it)"
	fi
fi
if [ -n "$why" ]; then
	skip "package test: $why"
	finish
fi

unset MAKEFLAGS MFLAGS MAKELEVEL
TMP=$(mktemp -d /tmp/tapis-pkg.XXXXXX)
NS=tpk$$
PIN=/sys/fs/bpf/tapis-pkgtest-$$
DEB_INSTALLED=0
# An audit log that tapis commands run outside the package left (the
# default --audit-log) is moved aside while the package owns the
# directory, and put back on exit.
LOG_ASIDE=""

cleanup() {
	if [ -e "/run/netns/$NS" ]; then
		nsenter --net="/run/netns/$NS" /usr/sbin/tapis unload --pin-path "$PIN" >/dev/null 2>&1 ||
			nsenter --net="/run/netns/$NS" "$REPO/build/tapis" unload --pin-path "$PIN" \
				>/dev/null 2>&1
		ip netns del "$NS" 2>/dev/null
	fi
	[ -d "$PIN" ] && rm -rf "$PIN"
	if [ "${DEFPIN_LOADED:-0}" = 1 ] && [ -e /sys/fs/bpf/tapis ]; then
		"$REPO/build/tapis" unload >/dev/null 2>&1
	fi
	ip link del "$NS"a 2>/dev/null
	if [ "$DEB_INSTALLED" = 1 ] &&
		dpkg-query -W -f='${Status}' tapis 2>/dev/null | grep -q 'installed\|config-files\|half'; then
		echo "# cleanup: purging the tapis package" >&2
		dpkg --purge tapis >/dev/null 2>&1 || echo "# cleanup: dpkg --purge tapis failed" >&2
	fi
	if [ -n "$LOG_ASIDE" ] && [ -d "$LOG_ASIDE" ]; then
		rm -rf /var/log/tapis && mv "$LOG_ASIDE" /var/log/tapis
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- make install / uninstall (DESTDIR) -----------------------------------------

D=$TMP/destdir
if assert_ok "make install DESTDIR PREFIX=/usr" \
	make -s install DESTDIR="$D" PREFIX=/usr UNITDIR=/usr/lib/systemd/system; then
	got=$(cd "$D" && find . \( -type f -o -type d -empty \) -printf '%p %m\n' | sort | tr '\n' ' ')
	want="./etc/default/tapis 644 ./etc/tapis/policy.yaml 644 "
	want+="./usr/lib/systemd/system/tapis-serve.service 644 "
	want+="./usr/lib/systemd/system/tapis.service 644 ./usr/sbin/tapis 755 "
	want+="./usr/share/bash-completion/completions/tapis 644 ./usr/share/man/man8/tapis.8 644 "
	want+="./var/log/tapis 750 "
	assert_eq "make install: the files and their modes" "$want" "$got"
	assert_eq "make install: tapis.service runs /usr/sbin/tapis watch on /etc/tapis/policy.yaml" \
		"ExecStart=/usr/sbin/tapis watch --policy /etc/tapis/policy.yaml \$TAPIS_WATCH_OPTS" \
		"$(grep '^ExecStart=' "$D/usr/lib/systemd/system/tapis.service")"
	echo "# edited" >>"$D/etc/tapis/policy.yaml"
	make -s install DESTDIR="$D" PREFIX=/usr UNITDIR=/usr/lib/systemd/system >/dev/null 2>&1
	assert_eq "make install keeps an existing policy" "# edited" "$(tail -n 1 "$D/etc/tapis/policy.yaml")"
	make -s uninstall DESTDIR="$D" PREFIX=/usr UNITDIR=/usr/lib/systemd/system >/dev/null 2>&1
	assert_eq "make uninstall leaves only the edited policy" "./etc/tapis/policy.yaml" \
		"$(cd "$D" && find . -type f | sort | tr '\n' ' ' | sed 's/ $//')"
	rm -f "$D/etc/tapis/policy.yaml"
	make -s install DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1
	make -s uninstall DESTDIR="$D" PREFIX=/usr >/dev/null 2>&1
	assert_eq "make uninstall after install leaves no file" "" "$(cd "$D" && find . -type f)"
fi

# ---- the package ------------------------------------------------------------------

t0=$(date +%s)
assert_ok "make deb" make -s deb || finish
VERSION=$(dpkg-parsechangelog -S Version)
DEB=$(ls build/deb/tapis_"$VERSION"_*.deb 2>/dev/null | head -n 1)
echo "# make deb: $(($(date +%s) - t0)) s, $DEB"
[ -f "$DEB" ] || {
	not_ok "the .deb is in build/deb" "$(ls build/deb 2>&1 | tr '\n' ' ')"
	finish
}

lintian --fail-on error,warning "${DEB%.deb}.changes" >"$TMP/lintian" 2>&1
RC=$?
OUT=$(grep -v 'running with root' "$TMP/lintian")
if [ "$RC" = 0 ] && ! grep -q '^[EW]:' <<<"$OUT"; then ok "lintian: no error, no warning"
else not_ok "lintian: no error, no warning" "$(short "$OUT")"; fi
assert_eq "conffiles: /etc/default/tapis, /etc/tapis/policy.yaml" \
	"/etc/default/tapis /etc/tapis/policy.yaml" \
	"$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles | sort | tr '\n' ' ' | sed 's/ $//')"

# Every file of the system, but what changes under our feet anyway (lab
# tests running beside this one write /etc/netns).
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
		-o -path /var/tmp -o -path /work -o -path /root -o -path /home -o -path /var/cache \
		-o -path /var/log/journal -o -path /var/backups -o -path /etc/netns \) -prune \
		-o -print 2>/dev/null |
		grep -v -e '^/var/lib/dpkg/[a-z]*-old$' -e '^/etc/\(passwd\|group\|shadow\|gshadow\)-$' |
		sort
}
if [ -e /var/log/tapis ]; then
	LOG_ASIDE=$TMP/var-log-tapis
	mv /var/log/tapis "$LOG_ASIDE" || finish
	echo "# /var/log/tapis exists (an audit log of tapis run outside the package): moved aside"
fi
snapshot >"$TMP/before"
group_before=$(getent group tapis)

DEB_INSTALLED=1
assert_ok "dpkg -i $(basename "$DEB")" dpkg -i "$DEB" || finish
assert_eq "dpkg: tapis installed" "install ok installed" "$(dpkg-query -W -f='${Status}' tapis)"
assert_eq "installed tapis --version is the package's" "tapis $VERSION" "$(/usr/sbin/tapis --version)"
assert_ok "installed tapis check accepts the installed /etc/tapis/policy.yaml" \
	/usr/sbin/tapis check --policy /etc/tapis/policy.yaml
assert_ok "group tapis exists" getent group tapis
assert_eq "/var/log/tapis is root:tapis 0750" "root:tapis 750" "$(stat -c '%U:%G %a' /var/log/tapis)"

# ---- units ---------------------------------------------------------------------------

UNITDIR=$(dirname "$(dpkg -L tapis | grep '/tapis\.service$')")
UNITS=("$UNITDIR/tapis.service" "$UNITDIR/tapis-serve.service")
OUT=$(systemd-analyze verify "${UNITS[@]}" 2>&1)
RC=$?
if [ "$RC" = 0 ] && [ -z "$OUT" ]; then ok "systemd-analyze verify: both units, silent"
else not_ok "systemd-analyze verify: both units, silent" "exit $RC: $(short "$OUT")"; fi
for u in "${UNITS[@]}"; do
	lvl=$(systemd-analyze security --offline=true "$u" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
	case $lvl in
	*" OK" | *" SAFE") ok "systemd-analyze security $(basename "$u"): $lvl" ;;
	*) not_ok "systemd-analyze security $(basename "$u"): OK or SAFE" "got '$lvl'" ;;
	esac
done

# unit_value UNIT KEY: the values of every KEY= line, joined by spaces
unit_value() { sed -n "s/^$2=//p" "$1" | tr '\n' ' '; }

# expand_filter SPEC...: the system calls a SystemCallFilter= allow-list names
expand_filter() {
	local w
	for w in "$@"; do
		case $w in
		@*) systemd-analyze syscall-filter "$w" 2>/dev/null | sed -n '2,$s/^ *\([@a-z0-9_-]*\)$/\1/p' |
			while read -r s; do expand_filter "$s"; done ;;
		*) echo "$w" ;;
		esac
	done
}

# check_sandbox NAME UNIT TRACE...: the system calls and socket families in
# the strace logs TRACE... are allowed by UNIT
check_sandbox() {
	local name=$1 unit=$2 filter fams bad
	shift 2
	filter=$(unit_value "$unit" SystemCallFilter)
	if [ -z "$filter" ] || [[ $filter == "~"* ]]; then
		not_ok "$name: the unit has an allow-list SystemCallFilter" "'$filter'"
		return
	fi
	# shellcheck disable=SC2086
	expand_filter $filter | sort -u >"$TMP/allowed"
	bad=$(sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$@" | sort -u | comm -23 - "$TMP/allowed" |
		tr '\n' ' ')
	assert_empty "$name: every system call is in the unit's SystemCallFilter" "$bad"
	fams=" $(unit_value "$unit" RestrictAddressFamilies) "
	bad=""
	for f in $(grep -ho 'socket(AF_[A-Z0-9]*' "$@" | sed 's/socket(//' | sort -u); do
		[[ $fams == *" $f "* ]] || bad+="$f "
	done
	assert_empty "$name: every socket family is in the unit's RestrictAddressFamilies" "$bad"
}

# The capability bounding set of a unit, for setpriv: -all,+bpf,+net_admin,...
unit_caps() {
	local c out="-all"
	for c in $(unit_value "$1" CapabilityBoundingSet); do
		c=${c#CAP_}
		out+=",+${c,,}"
	done
	echo "$out"
}

# A completion harness: c WORD... prints what TAB offers after the last word.
cat >"$TMP/compl.bash" <<-'EOF'
	. /usr/share/bash-completion/bash_completion
	_completion_loader tapis
	c() {
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
		$(complete -p tapis | sed 's/.*-F \([^ ]*\) .*/\1/') tapis "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
	}
EOF

SVC=$UNITDIR/tapis.service
SERVE=$UNITDIR/tapis-serve.service
echo "# tapis.service bounding set: $(unit_caps "$SVC")"
ip netns add "$NS" && ip -n "$NS" link add tpk0 type veth peer name tpk1 &&
	ip -n "$NS" link set tpk0 up && ip -n "$NS" link set tpk1 up ||
	not_ok "a namespace with a veth pair" "ip failed"

# The sandbox a unit sets, as far as it decides what tapis may do, run in
# a mount namespace of its own (the script refuses to run in ours):
# ProtectSystem=strict (every mount read-only but /dev, /proc, /sys), the
# unit's ReadWritePaths and ReadOnlyPaths, ProtectKernelTunables (/sys,
# /sys/fs/bpf, /proc/sys read-only), the capability bounding set and
# NoNewPrivileges. The trace directory stays writable for strace.
cat >"$TMP/sandbox.sh" <<'EOF'
set -e
outer_ns=$1 tmp=$2 trace=$3 caps=$4 rw=$5 ro=$6 pkt=$7
shift 7
if [ "$(readlink /proc/self/ns/mnt)" = "$outer_ns" ]; then
	echo "sandbox: not in a mount namespace of its own" >&2
	exit 99
fi
findmnt -rn -o TARGET | while read -r m; do
	m=$(printf '%b' "$m")
	case $m in /dev | /dev/* | /proc | /proc/* | /sys | /sys/*) continue ;; esac
	mount -o remount,bind,ro "$m" 2>/dev/null || true
done
bind() { # PATH ro|rw
	mountpoint -q "$1" || mount --bind "$1" "$1"
	mount -o "remount,bind,$2" "$1"
}
case $pkt in yes | true | on | 1) for p in /sys /sys/fs/bpf /proc/sys; do bind "$p" ro; done ;; esac
for p in $rw; do p=${p#-}; [ ! -e "$p" ] || bind "$p" rw; done
for p in $ro; do p=${p#-}; [ ! -e "$p" ] || bind "$p" ro; done
bind "$tmp" rw
exec setpriv --no-new-privs --bounding-set "$caps" strace -f -qq -o "$tmp/$trace" "$@"
EOF
OUTER_NS=$(readlink /proc/self/ns/mnt)

# sandbox UNIT TRACE ARGS...: the installed tapis ARGS in the test's network
# namespace, as UNIT runs it, traced into $TMP/TRACE.
sandbox() {
	local unit=$1 trace=$2
	shift 2
	nsenter --net="/run/netns/$NS" unshare --mount --propagation private \
		bash "$TMP/sandbox.sh" "$OUTER_NS" "$TMP" "$trace" "$(unit_caps "$unit")" \
		"$(unit_value "$unit" ReadWritePaths)" "$(unit_value "$unit" ReadOnlyPaths)" \
		"$(unit_value "$unit" ProtectKernelTunables)" /usr/sbin/tapis "$@"
}

# tapis_under PID: the tapis process below PID (the sandbox's chain of
# execs ends in strace, whose child it is)
tapis_under() {
	local p=$1 c i
	for ((i = 0; i < 6; i++)); do
		c=$(ps -o pid= --ppid "$p" | head -n 1 | tr -d ' ')
		[ -n "$c" ] || return 1
		if [ "$(cat "/proc/$c/comm" 2>/dev/null)" = tapis ]; then
			echo "$c"
			return 0
		fi
		p=$c
	done
	return 1
}

# wait_lines FILE REGEX N: up to 20 s for N lines matching REGEX
wait_lines() {
	local i n
	for ((i = 0; i < 100; i++)); do
		n=$(grep -cE -- "$2" "$1" 2>/dev/null)
		[ "${n:-0}" -ge "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

if assert_ok "as tapis.service: load the installed policy onto a veth (generic)" \
	sandbox "$SVC" load.trace load --pin-path "$PIN" --policy /etc/tapis/policy.yaml \
	--iface tpk0 --mode generic; then
	assert_eq "pins: the directory 0750 and the pins 0640, group tapis" "tapis 750 tapis 640" \
		"$(stat -c '%G %a' "$PIN") $(stat -c '%G %a' "$PIN/tapis_rules" 2>&1)"
	assert_ok "as tapis.service: status --json" sandbox "$SVC" status.trace status --json --pin-path "$PIN"
	assert_ok "as tapis.service: net add" \
		sandbox "$SVC" netadd.trace net add 198.51.100.99 --rule example-range --pin-path "$PIN"
	assert_ok "as tapis.service: net del" \
		sandbox "$SVC" netdel.trace net del 198.51.100.99 --rule example-range --pin-path "$PIN"
	assert_ok "as tapis.service: reload" sandbox "$SVC" reload.trace reload --pin-path "$PIN"

	# tapis-serve.service: CAP_BPF only, /sys/fs/bpf read-only. Until
	# `tapis serve` exists, `stats --prometheus` reads what it would.
	assert_ok "as tapis-serve.service ($(unit_caps "$SERVE")): stats --prometheus" \
		sandbox "$SERVE" serve.trace stats --prometheus --pin-path "$PIN"
	# Once `tapis serve` exists, the unit's own command, scraped.
	if /usr/sbin/tapis help serve >/dev/null 2>&1; then
		ip -n "$NS" link set lo up
		sandbox "$SERVE" serve2.trace serve --pin-path "$PIN" >"$TMP/serve.out" 2>&1 &
		spid=$!
		for ((i = 0; i < 50; i++)); do
			OUT=$(nsenter --net="/run/netns/$NS" curl -sf --max-time 2 \
				http://127.0.0.1:9477/metrics 2>/dev/null) && break
			sleep 0.2
		done
		assert_match() { if grep -qE -- "$2" <<<"$3"; then ok "$1"; else not_ok "$1" "$(short "$3")"; fi; }
		assert_match "as tapis-serve.service: serve answers /metrics (tapis_up 1)" '^tapis_up 1' "$OUT"
		stpid=$(tapis_under "$spid") && kill -TERM "$stpid"
		wait "$spid"
	fi
	check_sandbox "tapis-serve.service" "$SERVE" "$TMP"/serve*.trace
	rm -f "$TMP"/serve*.trace

	# Completion of the rule names of this running policy.
	want_rules=$(sed -n 's/^  - name: *\([A-Za-z0-9._-]*\).*/\1/p' /etc/tapis/policy.yaml | sort | tr '\n' ' ')
	OUT=$(bash --norc --noprofile -c ". $TMP/compl.bash; c tapis --pin-path $PIN host add x.example --rule ''" 2>&1)
	assert_eq "completion: --rule completes the running policy's rule names" "$want_rules" "$OUT"

	assert_ok "as tapis.service: unload" sandbox "$SVC" unload.trace unload --pin-path "$PIN"
fi

# The unit's own command: watch loads (nothing runs), reloads on SIGHUP and
# on a change of the policy file, and leaves the filter loaded on SIGTERM.
sandbox "$SVC" watch.trace watch --policy /etc/tapis/policy.yaml --pin-path "$PIN" \
	--iface tpk0 --mode generic >"$TMP/watch.out" 2>&1 &
wpid=$!
if wait_lines "$TMP/watch.out" '^loaded ' 1; then
	ok "as tapis.service: watch loads the policy"
	tpid=$(tapis_under "$wpid")
	kill -HUP "$tpid"
	if wait_lines "$TMP/watch.out" '^reloaded ' 1; then ok "watch: SIGHUP reloads"
	else not_ok "watch: SIGHUP reloads" "$(short "$(cat "$TMP/watch.out")")"; fi
	touch /etc/tapis/policy.yaml
	if wait_lines "$TMP/watch.out" '^reloaded ' 2; then ok "watch: a change of the policy file reloads"
	else not_ok "watch: a change of the policy file reloads" "$(short "$(cat "$TMP/watch.out")")"; fi
	kill -TERM "$tpid"
	wait "$wpid"
	assert_eq "watch: SIGTERM ends it with exit 0" 0 "$?"
	assert_ok "watch: the filter stays loaded" /usr/sbin/tapis status --pin-path "$PIN"
	assert_ok "as tapis.service: unload after watch" sandbox "$SVC" unload2.trace unload --pin-path "$PIN"
else
	not_ok "as tapis.service: watch loads the policy" "$(short "$(cat "$TMP/watch.out")")"
	kill "$wpid" 2>/dev/null
	wait "$wpid"
fi
check_sandbox "tapis.service" "$SVC" "$TMP"/*.trace
assert_eq "nothing left at the test's pin path" "no" "$([ -e "$PIN" ] && echo yes || echo no)"
assert_eq "the audit log: root:tapis 0640" "root:tapis 640" \
	"$(stat -c '%U:%G %a' /var/log/tapis/audit.log 2>&1)"
ip netns del "$NS" 2>/dev/null

# ---- man page ------------------------------------------------------------------------

assert_eq "man -w tapis finds the installed page" "/usr/share/man/man8/tapis.8.gz" "$(man -w tapis 2>&1)"
OUT=$(LC_ALL=C MANWIDTH=200 man --warnings=all 8 tapis 2>&1 >/dev/null)
assert_empty "man 8 tapis renders without warnings" "$OUT"
MAN=$(LC_ALL=C MANWIDTH=200 man 8 tapis 2>/dev/null | col -b | tr -s ' ')
assert_eq "man 8 tapis: NAME" "tapis - XDP hostname and IP-range filter for ISP edge routers" \
	"$(grep -A1 '^NAME' <<<"$MAN" | tail -n 1 | sed 's/^ *//')"
missing=""
while read -r line; do
	grep -qF -- " $line" <<<"$MAN" || missing+="[$line] "
done < <(/usr/sbin/tapis --help | sed -n 's/^  \(tapis [a-z].*\)/\1/p' | tr -s ' ')
assert_empty "man 8 tapis: every command line of tapis --help" "$missing"
missing=""
for o in $(/usr/sbin/tapis --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
	grep -qF -- "$o" <<<"$MAN" || missing+="$o "
done
assert_empty "man 8 tapis: every option of tapis --help" "$missing"
assert_ok "man 8 tapis: tapis watch --policy FILE" grep -qF 'tapis watch --policy FILE' <<<"$MAN"

# ---- bash completion ----------------------------------------------------------------

OUT=$(bash --norc --noprofile -c '. /usr/share/bash-completion/bash_completion
	_completion_loader tapis; complete -p tapis' 2>&1)
assert_eq "completion loads in bash" "complete -F _tapis tapis" "$OUT"
cmds=$(/usr/sbin/tapis --help | sed -n 's/^  tapis \([a-z]*\) .*/\1/p' | sort | tr '\n' ' ')
assert_eq "completion: the commands" "$cmds" \
	"$(bash --norc --noprofile -c ". $TMP/compl.bash; c tapis ''" 2>&1)"
# has_words "WORDS" "LIST": every word of WORDS is in LIST
has_words() {
	local w
	for w in $1; do [[ " $2 " == *" $w "* ]] || return 1; done
}
OUT=$(bash --norc --noprofile -c ". $TMP/compl.bash; c tapis load --" 2>&1)
if has_words "--policy --iface --mode --pin-path --json --help" "$OUT"; then
	ok "completion: load's options"
else not_ok "completion: load's options" "got '$OUT'"; fi
assert_eq "completion: --mode's choices" "auto generic native " \
	"$(bash --norc --noprofile -c ". $TMP/compl.bash; c tapis load --mode ''" 2>&1)"
OUT=$(bash --norc --noprofile -c ". $TMP/compl.bash; c tapis host ''" 2>&1)
if has_words "add del" "$OUT"; then ok "completion: host's verbs"
else not_ok "completion: host's verbs" "got '$OUT'"; fi

# ---- upgrade, remove, purge, nothing left -------------------------------------------

# An operator's edit and an audit log, as a running service leaves them.
echo "# edited by the operator" >>/etc/tapis/policy.yaml
echo '{"command": "load"}' >/var/log/tapis/audit.log
assert_ok "dpkg -i again (an upgrade) over an edited policy" dpkg -i "$DEB"
assert_eq "the upgrade keeps the operator's policy" "# edited by the operator" \
	"$(tail -n 1 /etc/tapis/policy.yaml)"
assert_eq "the upgrade keeps /var/log/tapis root:tapis 0750" "root:tapis 750" \
	"$(stat -c '%U:%G %a' /var/log/tapis)"

# A filter at the default pin path, on a veth pair of the host's that stays
# down (no traffic): removing the package takes it off.
DEFPIN_LOADED=0
if ip link add "$NS"a type veth peer name "$NS"b; then
	if assert_ok "load at the default pin path (host veth, down, generic)" \
		/usr/sbin/tapis load --policy /etc/tapis/policy.yaml --iface "$NS"a --mode generic; then
		DEFPIN_LOADED=1
	fi
fi
assert_ok "dpkg -r tapis" dpkg -r tapis
if [ "$DEFPIN_LOADED" = 1 ]; then
	assert_eq "dpkg -r unloaded the filter: no /sys/fs/bpf/tapis, no XDP on the veth" "no no" \
		"$([ -e /sys/fs/bpf/tapis ] && echo yes || echo no) $(ip link show "$NS"a | grep -q xdp && echo yes || echo no)"
fi
ip link del "$NS"a 2>/dev/null
assert_eq "after remove: the binary is gone, the policy (a conffile) stays" "no yes" \
	"$([ -e /usr/sbin/tapis ] && echo yes || echo no) $([ -e /etc/tapis/policy.yaml ] && echo yes || echo no)"
assert_ok "dpkg -P tapis" dpkg -P tapis
DEB_INSTALLED=0
assert_eq "dpkg: tapis purged" "" "$(dpkg-query -W -f='${Status}' tapis 2>/dev/null | grep -v not-installed)"
assert_eq "no statoverride left for /var/log/tapis" "" "$(dpkg-statoverride --list /var/log/tapis)"
snapshot >"$TMP/after"
# What another package brought or took meanwhile (apt run by someone else on
# a shared machine) is not ours: a path a package owns, or dpkg's record of
# a package that is installed.
OUT="" others=0
while read -r line; do
	f=${line#[<>] }
	pkg=${f##*/}
	pkg=${pkg%%.*}
	if dpkg -S "$f" >/dev/null 2>&1 ||
		{ [[ $f == /var/lib/dpkg/info/* ]] && [ "${pkg%%:*}" != tapis ] &&
			dpkg-query -W "${pkg%%:*}" >/dev/null 2>&1; }; then
		others=$((others + 1))
	else
		OUT+="$line"$'\n'
	fi
done < <(diff "$TMP/before" "$TMP/after" | grep '^[<>]')
[ "$others" = 0 ] || echo "# $others paths changed by other packages meanwhile (not counted)"
assert_empty "after purge the system's file list is the one before install" "$OUT"
[ -z "$group_before" ] && getent group tapis >/dev/null &&
	echo "# the tapis group stays after purge (Debian keeps system accounts)"

finish
