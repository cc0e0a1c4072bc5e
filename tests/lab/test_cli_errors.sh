#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_cli_errors.sh - how the tapis command fails.
#
# Exit codes (README): 0 ok, 1 runtime, 2 bad policy or argument, 3 kernel or
# attach failure, 4 no tapis state at the pin path.
#   - broken policies: "FILE:LINE:" and exit 2, from check, load and reload;
#     a refused reload keeps the running policy
#   - a nonexistent interface: exit 3 and nothing pinned; a failing second
#     interface leaves the first one without tapis
#   - commands with no state: exit 4 with a message
#   - --help on every command: exit 0

. "$(dirname "$0")/lib.sh"
lab_test_begin

tmp=$(t_tmp)
mkdir -p "$tmp/lists"

re_escape() { sed 's/[][\.*^$()+?{}|/]/\\&/g' <<<"$1"; }

# has_loc OUTPUT FILE LINE: OUTPUT has "FILE:LINE:" (LINE may be a regex)
has_loc() {
	grep -qE "$(re_escape "$2"):$3:" <<<"$1"
}

# check_broken NAME LINE-REGEX: `tapis check` refuses $tmp/NAME.yaml with
# exit 2 and names FILE:LINE.
check_broken() {
	local f=$tmp/$1.yaml line=$2
	[[ $line =~ ^[0-9]+$ ]] || line=LINE
	assert_exit "check $1.yaml: exit 2" 2 "$TAPIS_BIN" check --policy "$f"
	assert_true "check $1.yaml: names $1.yaml:$line:" "output: $(head -n 3 <<<"$OUT" | tr '\n' '|')" \
		has_loc "$OUT" "$f" "$2"
}

cat >"$tmp/good.yaml" <<'EOF'
version: 1
rules:
  - name: block-range
    action: drop
    reference: "LAB/ERR"
    nets: [198.18.3.0/24, "2001:db8:3::/48"]
EOF

cat >"$tmp/syntax.yaml" <<'EOF'
version: 1
rules:
  - name: broken
    action: drop
    nets: [198.18.3.0/24, "2001:db8:3::/48"
  - name: other
    action: drop
EOF

cat >"$tmp/syntax2.yaml" <<'EOF'
version: 1
rules:
  - name: "unterminated
    action: drop
    nets: [198.18.3.0/24]
EOF

cat >"$tmp/unknown_key.yaml" <<'EOF'
version: 1
rules:
  - name: r1
    action: drop
    colour: red
    nets: [198.18.3.0/24]
EOF

cat >"$tmp/bad_cidr.yaml" <<'EOF'
version: 1
rules:
  - name: r1
    action: drop
    nets:
      - 198.18.3.0/24
      - 198.18.300.0/24
EOF

cat >"$tmp/bad_plen.yaml" <<'EOF'
version: 1
rules:
  - name: r1
    action: drop
    nets:
      - "2001:db8:3::/129"
EOF

cat >"$tmp/bad_action.yaml" <<'EOF'
version: 1
rules:
  - name: r1
    action: explode
    nets: [198.18.3.0/24]
EOF

cat >"$tmp/dup_name.yaml" <<'EOF'
version: 1
rules:
  - name: same
    action: drop
    nets: [198.18.3.0/24]
  - name: same
    action: drop
    nets: [198.18.4.0/24]
EOF

cat >"$tmp/lists/bad-nets.txt" <<'EOF'
# a net list with one bad line
198.18.3.0/24
not-a-cidr
EOF
cat >"$tmp/bad_list.yaml" <<'EOF'
version: 1
rules:
  - name: r1
    action: drop
    net_lists: [lists/bad-nets.txt]
EOF

# --- check -----------------------------------------------------------------------------
assert_ok "check good.yaml" "$TAPIS_BIN" check --policy "$tmp/good.yaml"
check_broken syntax '[0-9]+'
check_broken syntax2 '[0-9]+'
check_broken unknown_key 5
assert_match "unknown_key.yaml: the message names the key" "colour" "$OUT"
check_broken bad_cidr 7
assert_match "bad_cidr.yaml: the message names the value" "198\.18\.300\.0/24" "$OUT"
check_broken bad_plen 6
check_broken bad_action 4
check_broken dup_name 6
assert_exit "check bad_list.yaml: exit 2" 2 "$TAPIS_BIN" check --policy "$tmp/bad_list.yaml"
assert_match "bad_list.yaml: names bad-nets.txt:3:" "bad-nets\.txt:3:" "$OUT"
assert_exit "check a missing file: exit 2" 2 "$TAPIS_BIN" check --policy "$tmp/nosuch.yaml"
assert_match "check a missing file: names it" "nosuch\.yaml" "$OUT"

# --- no state at the pin path ------------------------------------------------------------
for cmd in "status" "status --json" "stats" "stats --json" "stats --prometheus" \
	"explain 198.18.3.10" "unload" "reload"; do
	# shellcheck disable=SC2086
	assert_exit "$cmd with nothing loaded: exit 4" 4 lab_tapis $cmd
	assert_true "$cmd with nothing loaded: says why" "no message" test -n "$OUT"
done

# --- the probes of the absence checks below see pins and a program -------------------------
assert_ok "load good.yaml on r0" lab_tapis load --policy "$tmp/good.yaml" --iface r0 --mode native
assert_true "loaded: pins at the pin path" "nothing pinned at $TAPIS_PIN" pins_left
assert_true "loaded: r0 has an XDP program" "no prog/xdp on r0" router_xdp r0
assert_ok "unload" lab_tapis unload

# --- bad arguments ------------------------------------------------------------------------
assert_exit "unknown command: exit 2" 2 "$TAPIS_BIN" frobnicate
assert_exit "load without --iface: exit 2" 2 lab_tapis load --policy "$tmp/good.yaml"
assert_exit "load --mode bogus: exit 2" 2 lab_tapis load --policy "$tmp/good.yaml" --iface r0 --mode bogus
assert_exit "load with a broken policy: exit 2" 2 lab_tapis load --policy "$tmp/bad_cidr.yaml" --iface r0
assert_true "load with a broken policy: nothing pinned" "left: $(ls -A "$TAPIS_PIN" 2>/dev/null | tr '\n' ' ')" \
	no_pins
assert_ok "load with a broken policy: r0 has no XDP program" router_no_xdp r0

# --- attach failures ------------------------------------------------------------------------
assert_exit "load on a nonexistent interface: exit 3" 3 \
	lab_tapis load --policy "$tmp/good.yaml" --iface nosuch0 --mode native
assert_true "nonexistent interface: nothing pinned" "left: $(ls -A "$TAPIS_PIN" 2>/dev/null | tr '\n' ' ')" \
	no_pins
assert_exit "status after the failed load: exit 4" 4 lab_tapis status

assert_exit "load --iface r0 --iface nosuch0: exit 3" 3 \
	lab_tapis load --policy "$tmp/good.yaml" --iface r0 --iface nosuch0 --mode native
assert_ok "after the failed second interface r0 has no XDP program" router_no_xdp r0
assert_true "after the failed second interface nothing is pinned" \
	"left: $(ls -A "$TAPIS_PIN" 2>/dev/null | tr '\n' ' ')" no_pins
assert_eq "198.18.3.10 reachable (nothing half-loaded)" 3 "$(ping_count c 198.18.3.10 3)"

# --- a refused reload keeps the running policy -----------------------------------------------
assert_ok "load good.yaml on r0" lab_tapis load --policy "$tmp/good.yaml" --iface r0 --mode native
# A service that starts twice: the second load finds nothing to do
# (tests/lab/test_attach.sh has the rest).
assert_ok "a second load on the same pin path, same policy: exit 0" \
	lab_tapis load --policy "$tmp/good.yaml" --iface r0 --mode native
assert_match "the second load says the policy is unchanged" "unchanged" "$OUT"
assert_eq "198.18.3.10 blocked" 0 "$(ping_count c 198.18.3.10 3)"
assert_exit "reload with a broken policy: exit 2" 2 lab_tapis reload --policy "$tmp/unknown_key.yaml"
assert_true "reload with a broken policy: names unknown_key.yaml:5:" "output: $(head -n 3 <<<"$OUT" | tr '\n' '|')" \
	has_loc "$OUT" "$tmp/unknown_key.yaml" 5
assert_eq "after the refused reload 198.18.3.10 is still blocked" 0 "$(ping_count c 198.18.3.10 3)"
assert_eq "after the refused reload block-range is still in stats" drop "$(rule_stat block-range action)"
assert_ok "unload" lab_tapis unload
assert_true "unload: nothing pinned" "left: $(ls -A "$TAPIS_PIN" 2>/dev/null | tr '\n' ' ')" no_pins

# --- --help -------------------------------------------------------------------------------------
assert_ok "tapis --help: exit 0" "$TAPIS_BIN" --help
assert_true "tapis --help prints usage" "empty" test -n "$OUT"
# The commands of the CLI contract, and the later ones once `tapis --help` lists them.
cmds="check load reload unload status stats explain"
for cmd in host net serve events watch audit attach detach; do
	grep -qE "^ *tapis +$cmd( |$)" <<<"$OUT" && cmds="$cmds $cmd"
done
for cmd in $cmds; do
	assert_ok "tapis $cmd --help: exit 0" "$TAPIS_BIN" $cmd --help
	assert_match "tapis $cmd --help names the command" "$cmd" "$OUT"
done

# --- an option given twice is an error, not a silent last-wins ---------------------------
assert_exit "check --policy A --policy B: exit 2" 2 "$TAPIS_BIN" check --policy "$tmp/good.yaml" --policy /nonexistent.yaml
assert_match "it names the option given twice" "option '--policy' given twice" "$OUT"
assert_exit "host add --rule A --rule B: exit 2" 2 lab_tapis host add x.example --rule a --rule b
assert_match "it names --rule" "option '--rule' given twice" "$OUT"

# --- a policy that is not a file ------------------------------------------------------------
mkfifo "$tmp/fifo.yaml"
assert_exit "check --policy FIFO: exit 2 at once, not blocked" 2 timeout 5 "$TAPIS_BIN" check --policy "$tmp/fifo.yaml"
assert_match "it says not a regular file" "fifo.yaml: error: not a regular file" "$OUT"
assert_exit "check --policy /dev/zero: exit 2" 2 timeout 5 "$TAPIS_BIN" check --policy /dev/zero
assert_match "it says not a regular file" "/dev/zero: error: not a regular file" "$OUT"

lab_test_end
