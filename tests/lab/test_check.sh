#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_check.sh - `tapis check` runs the whole compile, so it refuses what
# load and reload refuse, with FILE:LINE and exit 2, and load refuses it
# before anything exists in the kernel:
#   - more rules than a filter holds (4095)
#   - a redirect to an interface that does not exist (in the namespace
#     check runs in: --no-iface-check skips that lookup)
#   - a list file that yields no entries, unless the rule may be empty
# Reload refuses them too, before it touches the running policy.
# check --json summarises what load will hold (rules, entries per kind,
# conflicts, warnings) and status agrees after the load. A rule declared
# empty (nets: [], hosts: []) is loaded and filled at run time. explain and
# host add refuse what is neither an address nor a host name (exit 2).

. "$(dirname "$0")/lib.sh"
lab_test_begin

tmp=$(t_tmp)
mkdir -p "$tmp/lists"

re_escape() { sed 's/[][\.*^$()+?{}|/]/\\&/g' <<<"$1"; }
# has_loc FILE LINE: $OUT has "FILE:LINE: error:"
has_loc() { grep -qE "^$(re_escape "$1"):$2: error: " <<<"$OUT"; }
nothing_loaded() { # no pins, no XDP program on r0
	no_pins && router_no_xdp r0
}

# The probes of nothing_loaded see pins and a program when there are some.
cat >"$tmp/one.yaml" <<'EOF'
version: 1
rules:
  - { name: one, action: drop, nets: [198.18.3.10/32] }
EOF
assert_ok "load a one-rule policy on r0" lab_tapis load --policy "$tmp/one.yaml" --iface r0 --mode native
assert_true "loaded: pins at the pin path" "nothing pinned at $TAPIS_PIN" pins_left
assert_true "loaded: r0 has an XDP program" "no prog/xdp on r0" router_xdp r0
assert_ok "unload it" lab_tapis unload

# --- more rules than a filter holds -------------------------------------------------------
python3 - "$tmp/many.yaml" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("version: 1\nrules:\n")
    for i in range(4096):
        f.write(f"  - {{ name: r{i}, action: drop, nets: [198.18.{100 + i // 256}.{i % 256}] }}\n")
EOF
assert_exit "check 4096 rules: exit 2" 2 "$TAPIS_BIN" check --policy "$tmp/many.yaml"
assert_true "check 4096 rules: names many.yaml:4098: (the 4096th rule)" "$(head -c 300 <<<"$OUT")" \
	has_loc "$tmp/many.yaml" 4098
assert_match "check 4096 rules: says the limit" "rule 'r4095' is rule 4096: a filter holds at most 4095 rules" "$OUT"
assert_exit "load 4096 rules: exit 2 (before the BPF load)" 2 \
	lab_tapis load --policy "$tmp/many.yaml" --iface r0 --mode native
assert_true "load 4096 rules: names many.yaml:4098:" "$(head -c 300 <<<"$OUT")" has_loc "$tmp/many.yaml" 4098
assert_true "load 4096 rules: nothing pinned, nothing attached" "pins: $(ls -A "$TAPIS_PIN" 2>/dev/null | head -3)" \
	nothing_loaded
head -n $((2 + 4095)) "$tmp/many.yaml" >"$tmp/max.yaml"
assert_ok "check 4095 rules: accepted" "$TAPIS_BIN" check --policy "$tmp/max.yaml"
assert_match "check 4095 rules: counts them" "OK: 4095 rules" "$OUT"

# --- a redirect to a missing interface ------------------------------------------------------
cat >"$tmp/redirect.yaml" <<'EOF'
version: 1
rules:
  - name: to-blockpage
    action: redirect
    redirect:
      iface: nosuch0
      mac: "02:00:00:00:00:10"
    nets: [198.18.3.0/24]
EOF
assert_exit "check a redirect to nosuch0: exit 2" 2 "$TAPIS_BIN" check --policy "$tmp/redirect.yaml"
assert_true "check a redirect to nosuch0: names redirect.yaml:6: (the iface line)" "$OUT" \
	has_loc "$tmp/redirect.yaml" 6
assert_match "check a redirect to nosuch0: says what is missing" \
	"rule 'to-blockpage': redirect interface 'nosuch0' does not exist" "$OUT"
assert_exit "check --json a redirect to nosuch0: exit 2" 2 \
	"$TAPIS_BIN" check --json --policy "$tmp/redirect.yaml"
js=$(grep '^{' <<<"$OUT")
assert_eq "check --json: the error names the policy" "$tmp/redirect.yaml: invalid policy" \
	"$(json_q "$js" "d['error']")"
assert_match "check --json: the diagnostic has FILE:LINE" \
	"redirect\.yaml:6: error: rule 'to-blockpage': redirect interface 'nosuch0'" \
	"$(json_q "$js" "d['diagnostics'][0]")"
assert_ok "check --no-iface-check: accepted" "$TAPIS_BIN" check --policy "$tmp/redirect.yaml" --no-iface-check
assert_match "check --no-iface-check: says interfaces were not checked" "interfaces not checked" "$OUT"
assert_exit "load a redirect to nosuch0: exit 2 (was 3 after the BPF load)" 2 \
	lab_tapis load --policy "$tmp/redirect.yaml" --iface r0 --mode native
assert_true "load a redirect to nosuch0: names redirect.yaml:6:" "$OUT" has_loc "$tmp/redirect.yaml" 6
assert_true "load a redirect to nosuch0: nothing pinned, nothing attached" \
	"pins: $(ls -A "$TAPIS_PIN" 2>/dev/null | head -3)" nothing_loaded

# The router's r0 exists only in its namespace: check answers for the
# namespace it runs in.
sed 's/iface: nosuch0/iface: r0/' "$tmp/redirect.yaml" >"$tmp/redirect-r0.yaml"
if ip link show r0 >/dev/null 2>&1; then
	echo "skip: test_check: this host has an r0 of its own"
else
	assert_exit "check a redirect to r0 outside the router namespace: exit 2" 2 \
		"$TAPIS_BIN" check --policy "$tmp/redirect-r0.yaml"
fi
assert_ok "check a redirect to r0 in the router namespace: accepted" \
	lab_tapis check --policy "$tmp/redirect-r0.yaml"

# --- list files that yield nothing ------------------------------------------------------------
printf '# nothing listed today\n\n' >"$tmp/lists/empty.txt"
printf 'bad..example\n198.18.0.300\n' >"$tmp/lists/bad.txt"
cat >"$tmp/emptylist.yaml" <<'EOF'
version: 1
rules:
  - name: feed
    action: drop
    hosts: [a.example]
    host_lists: [lists/empty.txt]
EOF
assert_exit "check a host list with no entries: exit 2" 2 "$TAPIS_BIN" check --policy "$tmp/emptylist.yaml"
assert_true "check a host list with no entries: names emptylist.yaml:6:" "$OUT" has_loc "$tmp/emptylist.yaml" 6
assert_match "check a host list with no entries: says so" "host list '.*empty\.txt' yields no entries" "$OUT"
cat >"$tmp/skiplist.yaml" <<'EOF'
version: 1
rules:
  - name: feed
    action: drop
    hosts: [a.example]
    host_lists:
      - { path: lists/bad.txt, on_error: skip }
EOF
assert_exit "check a list whose every line is refused (on_error: skip): exit 2" 2 \
	"$TAPIS_BIN" check --policy "$tmp/skiplist.yaml"
assert_true "... names skiplist.yaml:7:" "$OUT" has_loc "$tmp/skiplist.yaml" 7
assert_match "... says the lines were refused" "yields no entries \(2 lines refused, on_error: skip\)" "$OUT"
printf '    may_be_empty: true\n' >>"$tmp/skiplist.yaml"
assert_ok "the same with may_be_empty: true: accepted" "$TAPIS_BIN" check --policy "$tmp/skiplist.yaml"

# --- the summary, and status agreeing with it -------------------------------------------------
cat >"$tmp/policy.yaml" <<'EOF'
version: 1
rules:
  - name: block-range
    action: drop
    reference: "LAB/CHECK/1"
    nets: [198.18.3.0/24, "2001:db8:3::/48", 198.18.3.0/24]
    hosts: [blocked.example, "=blocked.example"]
  - name: also
    action: reject
    nets: [198.18.3.0/24]
  - name: live-nets
    action: drop
    nets: []
  - name: live-hosts
    action: drop
    hosts: []
EOF
assert_ok "check --json the lab policy" "$TAPIS_BIN" check --json --policy "$tmp/policy.yaml"
js=$OUT
assert_eq "check --json: ok" true "$(json_q "$js" "d['ok']")"
assert_eq "check --json: 4 rules" 4 "$(json_q "$js" "d['rules']")"
assert_eq "check --json: entries v4 1 (deduplicated)" 1 "$(json_q "$js" "d['entries']['v4']")"
assert_eq "check --json: entries v6 1" 1 "$(json_q "$js" "d['entries']['v6']")"
assert_eq "check --json: entries hosts 1 (one key)" 1 "$(json_q "$js" "d['entries']['hosts']")"
assert_eq "check --json: 1 prefix conflict" 1 "$(json_q "$js" "d['conflicts']['nets']")"
assert_eq "check --json: 1 warning" 1 "$(json_q "$js" "d['warnings']")"
assert_match "check --json: the warning names both lines" \
	"policy\.yaml:10: warning: 198\.18\.3\.0/24 \(dst\) is also in rule 'block-range' \(.*policy\.yaml:6\)" \
	"$(json_q "$js" "d['diagnostics'][0]")"
assert_ok "check (text) the lab policy" "$TAPIS_BIN" check --policy "$tmp/policy.yaml"
assert_match "check (text): the summary line" \
	"OK: 4 rules, 4 nets, 2 hosts \(entries: v4 1, v6 1, hosts 1\); 1 warning" "$OUT"
assert_match "check (text): the warning, on stderr, with FILE:LINE" "policy\.yaml:10: warning: " "$OUT"

assert_ok "load the lab policy on r0" lab_tapis load --policy "$tmp/policy.yaml" --iface r0 --mode native ||
	lab_test_end
assert_ok "status --json" lab_tapis status --json
st=$OUT
for k in v4 v6 hosts; do
	assert_eq "status entries $k = check's" "$(json_q "$js" "d['entries']['$k']")" \
		"$(json_q "$st" "d['entries']['$k']")"
done
assert_eq "status: 4 rules" 4 "$(json_q "$st" "d['rules']")"

# --- rules declared empty, filled at run time -------------------------------------------------
assert_eq "live-nets is loaded with no entries" 0 \
	"$(json_q "$(lab_tapis stats --json)" "next(r['entries']['v4'] for r in d['rules'] if r['name'] == 'live-nets')")"
assert_eq "ping 198.18.2.10 before net add: 3 of 3" 3 "$(ping_count c 198.18.2.10 3)"
assert_ok "net add 198.18.2.10/32 --rule live-nets" lab_tapis net add 198.18.2.10/32 --rule live-nets
assert_eq "ping 198.18.2.10 after net add: 0 of 3" 0 "$(ping_count c 198.18.2.10 3)"
assert_eq "live-nets counted the 3 echo requests" 3 "$(rule_stat live-nets packets)"
assert_ok "host add late.example --rule live-hosts" lab_tapis host add late.example --rule live-hosts
assert_ok "explain www.late.example --json" lab_tapis explain www.late.example --json
assert_eq "explain www.late.example: rule live-hosts" live-hosts "$(json_q "$OUT" "d['rule']")"
assert_eq "explain www.late.example: drop" drop "$(json_q "$OUT" "d['action']")"

# --- reload refuses the same, and the running policy stays ------------------------------------
gen0=$(json_q "$(lab_tapis status --json)" "d['generation']")
assert_exit "reload a redirect to nosuch0: exit 2" 2 lab_tapis reload --policy "$tmp/redirect.yaml"
assert_true "reload a redirect to nosuch0: names redirect.yaml:6:" "$OUT" has_loc "$tmp/redirect.yaml" 6
# The 4 running rules it drops keep their ids until the switch: r4091 is
# already one too many (the 4092nd rule, at line 3 + 4091).
assert_exit "reload 4096 rules over 4 running ones: exit 2" 2 lab_tapis reload --policy "$tmp/many.yaml"
assert_true "reload 4096 rules over 4 running ones: names many.yaml:4094:" "$(head -c 300 <<<"$OUT")" \
	has_loc "$tmp/many.yaml" 4094
assert_match "reload 4096 rules over 4 running ones: says why" \
	"rule 'r4091': more than 4095 rules, counting the 4 rules of the running policy that this one drops" "$OUT"
assert_eq "after the refused reloads the generation is unchanged" "$gen0" \
	"$(json_q "$(lab_tapis status --json)" "d['generation']")"
assert_eq "after the refused reloads 198.18.2.10 (added live) is still blocked" 0 \
	"$(ping_count c 198.18.2.10 3)"

# --- neither an address nor a host name -------------------------------------------------------
for q in 198.18.0.300 1.2.3 "foo..example" "198.18.3.0/33" "a b.example"; do
	assert_exit "explain '$q': exit 2" 2 lab_tapis explain -- "$q"
	assert_match "explain '$q': says why" "neither an address nor a hostname|not a|invalid" "$OUT"
done
assert_exit "explain 198.18.0.300 --json: exit 2" 2 lab_tapis explain 198.18.0.300 --json
assert_match "explain 198.18.0.300 --json: an error document" \
	"neither an address nor a hostname" "$(json_q "$OUT" "d['error']")"
assert_exit "host add 198.18.2.10 --rule live-hosts: exit 2" 2 \
	lab_tapis host add 198.18.2.10 --rule live-hosts
assert_match "host add an address: says it is one" "'198\.18\.2\.10' is an address, not a host name" "$OUT"
assert_exit "host add 198.18.0.300: exit 2" 2 lab_tapis host add 198.18.0.300 --rule live-hosts
assert_match "host add 198.18.0.300: says why" "last label is all digits" "$OUT"

assert_ok "unload" lab_tapis unload
lab_test_end
