#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test_rpz.sh - an RPZ zone as a policy list, end to end: the example
# policy (examples/rpz-policy.yaml, zone examples/zones/abuse-feed.rpz) is
# loaded on the lab router and dig in the client namespace asks dnsmasq in
# the server namespace through it.
#
#   CNAME .         tapis answers NXDOMAIN (rule abuse-feed/reject)
#   CNAME *.        NODATA in RPZ: NXDOMAIN from tapis too (documented)
#   rpz-drop        no answer at all (abuse-feed/drop)
#   rpz-passthru    below a dropped parent: dnsmasq's answer (abuse-feed/allow)
#   local data      the sinkhole address (abuse-feed/sinkhole)
#   stats, explain  name the rules the zone became, host list the zone line
#                   of each entry; a rule made from a zone takes live entries
#                   (host add) and a reload re-reads the zone
#   check           a bad zone: FILE:LINE and exit 2; on_error: skip warns;
#                   an empty zone is refused unless may_be_empty; local data
#                   that differs from settings.sinkhole is warned about

. "$(dirname "$0")/lib.sh"
lab_test_begin dig

tmp=$(t_tmp)
re_escape() { sed 's/[][\.*^$()+?{}|/]/\\&/g' <<<"$1"; }

# The example, copied so that the reload below can change its zone.
mkdir -p "$tmp/zones"
cp "$LAB_TEST_REPO/examples/rpz-policy.yaml" "$tmp/policy.yaml"
cp "$LAB_TEST_REPO/examples/zones/abuse-feed.rpz" "$tmp/zones/abuse-feed.rpz"
policy=$tmp/policy.yaml
zone=$tmp/zones/abuse-feed.rpz

assert_ok "check the example RPZ policy" "$TAPIS_BIN" check --policy "$LAB_TEST_REPO/examples/rpz-policy.yaml"
assert_match "check lists the rules the zone became" \
	"rule abuse-feed \(rpz\) -> abuse-feed/reject \(2 hosts\), abuse-feed/drop \(1 host\), abuse-feed/allow \(1 host\), abuse-feed/sinkhole \(2 hosts\)" "$OUT"
assert_ok "check --json" "$TAPIS_BIN" check --json --policy "$policy"
assert_eq "check --json: four rules" 4 "$(json_q "$OUT" "d['rules']")"
assert_eq "check --json: the rpz group" "abuse-feed/reject abuse-feed/drop abuse-feed/allow abuse-feed/sinkhole" \
	"$(json_q "$OUT" "' '.join(r['name'] for r in d['rpz'][0]['rules'])")"
assert_ok "load the example in native mode on r0" lab_tapis load --policy "$policy" --iface r0 --mode native
assert_true "pins at the pin path" "nothing pinned at $TAPIS_PIN" pins_left

S4=$LAB_DNS4 S6=$LAB_DNS6
dig_q() { lab_exec c dig +noall +comments +answer +time=2 +tries=1 "$@" 2>&1; }
never_seen() { ! lab_dns_seen "$1" 1; }

# --- CNAME . : NXDOMAIN -------------------------------------------------------------------
out=$(dig_q @"$S4" blocked.example A)
assert_match "CNAME . trigger blocked.example: NXDOMAIN" "status: NXDOMAIN" "$out"
assert_match "... answered by tapis (qr rd ra, no aa)" "flags: qr rd ra;" "$out"
out=$(dig_q @"$S6" BLOCKED.example AAAA)
assert_match "CNAME . over IPv6, upper case: NXDOMAIN" "status: NXDOMAIN" "$out"
assert_true "dnsmasq never saw blocked.example" "it did" never_seen blocked.example

# --- CNAME *. : NODATA in RPZ, NXDOMAIN from tapis ----------------------------------------
out=$(dig_q @"$S4" txt.example TXT)
assert_match "CNAME *. trigger txt.example: NXDOMAIN (tapis has no NODATA verdict)" "status: NXDOMAIN" "$out"
assert_true "dnsmasq never saw txt.example" "it did" never_seen txt.example

# --- rpz-drop: no answer --------------------------------------------------------------------
assert_fail "rpz-drop *.blocked.example: www.blocked.example gets no answer" \
	lab_exec c dig +time=1 +tries=1 @"$S4" www.blocked.example A
assert_match "dig reports a timeout" "timed out|no servers could be reached" "$OUT"
assert_fail "rpz-drop over IPv6: api.blocked.example gets no answer" \
	lab_exec c dig +time=1 +tries=1 @"$S6" api.blocked.example AAAA
assert_true "dnsmasq never saw the dropped names" "it did" never_seen '(www|api)\.blocked\.example'

# --- rpz-passthru below a dropped parent: answered ------------------------------------------
out=$(dig_q @"$S4" exception.blocked.example A)
assert_match "passthru exception.blocked.example: dnsmasq's answer" "198\.18\.3\.99" "$out"
assert_match "... NOERROR" "status: NOERROR" "$out"
assert_true "dnsmasq saw exception.blocked.example" "it did not" lab_dns_seen exception.blocked.example
out=$(dig_q @"$S6" exception.blocked.example AAAA)
assert_match "passthru over IPv6: dnsmasq's AAAA" "2001:db8:3::99" "$out"

# --- local data: the sinkhole address ---------------------------------------------------------
out=$(dig_q @"$S4" other.example A)
assert_match "local data other.example A: the sinkhole address, TTL 60" \
	"other\.example\.[[:space:]]+60[[:space:]]+IN[[:space:]]+A[[:space:]]+198\.18\.0\.10" "$out"
out=$(dig_q @"$S6" www.other.example AAAA)
assert_match "local data *.other.example AAAA: 2001:db8::10" "AAAA[[:space:]]+2001:db8::10" "$out"
assert_true "dnsmasq never saw other.example" "it did" never_seen '([a-z]+\.)?other\.example'

# --- names the zone does not list -------------------------------------------------------------
out=$(dig_q @"$S4" allowed.example A)
assert_match "allowed.example (not in the zone): answered" "198\.18\.2\.10" "$out"

# --- stats and explain name the rules the zone became ---------------------------------------
js=$(lab_tapis stats --json)
for r in reject drop allow sinkhole; do
	p=$(rule_stat "abuse-feed/$r" packets "$js")
	assert_true "stats: abuse-feed/$r counted its queries ($p)" "got '$p'" test "${p:-0}" -ge 1
	assert_eq "stats: abuse-feed/$r has action $r" "$r" "$(rule_stat "abuse-feed/$r" action "$js")"
	assert_eq "stats: abuse-feed/$r carries the rule's reference" \
		"abuse feed, RPZ (serial 2026010101)" "$(rule_stat "abuse-feed/$r" reference "$js")"
done
assert_ok "stats --prometheus" lab_tapis stats --prometheus
assert_match "prometheus: rule=\"abuse-feed/allow\"" \
	'tapis_rule_packets_total\{rule="abuse-feed/allow",action="allow"\} [1-9]' "$OUT"
assert_ok "explain exception.blocked.example" lab_tapis explain exception.blocked.example --json
assert_eq "explain: passthru wins (abuse-feed/allow)" abuse-feed/allow "$(json_q "$OUT" "d.get('rule')")"
assert_eq "explain: pattern =exception.blocked.example" "=exception.blocked.example" \
	"$(json_q "$OUT" "d['host']['prefix']")"
assert_ok "explain deep.exception.blocked.example" lab_tapis explain deep.exception.blocked.example --json
assert_eq "explain: below the passthru the wildcard drop acts" abuse-feed/drop "$(json_q "$OUT" "d.get('rule')")"
assert_eq "explain: pattern *.blocked.example" "*.blocked.example" "$(json_q "$OUT" "d['host']['prefix']")"

# --- host list: each entry with its zone line ----------------------------------------------
assert_ok "host list --rule abuse-feed/allow" lab_tapis host list --rule abuse-feed/allow --json
assert_eq "host list: the passthru trigger, as an exact pattern" "=exception.blocked.example" \
	"$(json_q "$OUT" "' '.join(e['entry'] for e in d['entries'])")"
assert_eq "host list: its source is the zone's line" "$zone:21" \
	"$(json_q "$OUT" "d['entries'][0]['file'] + ':' + str(d['entries'][0]['line'])")"

# --- a rule made from a zone takes live entries; a reload re-reads the zone -----------------
assert_ok "host add =allowed.example --rule abuse-feed/drop" \
	lab_tapis host add =allowed.example --rule abuse-feed/drop
assert_fail "allowed.example is now dropped" lab_exec c dig +time=1 +tries=1 @"$S4" allowed.example A
printf '%s\n' "server.example CNAME ." >>"$zone"
assert_ok "reload after the zone gained a trigger" lab_tapis reload --policy "$policy"
out=$(dig_q @"$S4" server.example A)
assert_match "the new trigger server.example: NXDOMAIN" "status: NXDOMAIN" "$out"
out=$(dig_q @"$S4" exception.blocked.example A)
assert_match "the passthru still answered after the reload" "198\.18\.3\.99" "$out"
assert_ok "unload" lab_tapis unload
out=$(dig_q @"$S4" blocked.example A)
assert_match "after unload dnsmasq answers blocked.example" "198\.18\.3\.10" "$out"

# --- check: a bad zone, skip, an empty zone, local data that differs ------------------------
zhead='$TTL 300
$ORIGIN feed.rpz.example.
@ SOA ns.feed.rpz.example. admin.feed.rpz.example. 1 3600 600 86400 300
  NS ns.feed.rpz.example.'
printf '%s\n' "$zhead" "a.example CNAME ." "32.1.2.18.198.rpz-ip CNAME ." "b.example CNAME rpz-drop." \
	>"$tmp/zones/bad.rpz"
cat >"$tmp/bad.yaml" <<'EOF'
version: 1
rules:
  - name: feed
    reference: "LAB/RPZ/BAD"
    rpz: [zones/bad.rpz]
EOF
assert_exit "check a zone with an rpz-ip trigger: exit 2" 2 "$TAPIS_BIN" check --policy "$tmp/bad.yaml"
assert_match "check names the zone's FILE:LINE" \
	"^$(re_escape "$tmp/zones/bad.rpz"):6: error: rpz-ip triggers are not supported" "$OUT"
assert_match "check names the policy line naming the zone" \
	"^$(re_escape "$tmp/bad.yaml"):5: error: rule 'feed': RPZ zone '.*bad\.rpz' refused" "$OUT"
assert_exit "load refuses it too: exit 2" 2 lab_tapis load --policy "$tmp/bad.yaml" --iface r0 --mode native
assert_true "load: nothing pinned" "pins: $(ls -A "$TAPIS_PIN" 2>/dev/null | head -3)" no_pins

sed -i 's|zones/bad.rpz|{ path: zones/bad.rpz, on_error: skip }|' "$tmp/bad.yaml"
assert_ok "on_error: skip: accepted" "$TAPIS_BIN" check --policy "$tmp/bad.yaml"
assert_match "... with a warning at the zone's FILE:LINE" \
	"$(re_escape "$tmp/zones/bad.rpz"):6: warning: rpz-ip triggers are not supported.*skipped" "$OUT"
assert_match "... and the rules of the rest" "feed/reject \(1 host\), feed/drop \(1 host\)" "$OUT"

printf '%s\n' "$zhead" >"$tmp/zones/empty.rpz"
printf 'version: 1\nrules:\n  - name: feed\n    rpz: [zones/empty.rpz]\n' >"$tmp/empty.yaml"
assert_exit "check an empty zone: exit 2" 2 "$TAPIS_BIN" check --policy "$tmp/empty.yaml"
assert_match "... it yields no entries (the policy line)" \
	"empty\.yaml:4: error: rule 'feed': RPZ zone '.*empty\.rpz' yields no entries" "$OUT"
printf '    may_be_empty: true\n' >>"$tmp/empty.yaml"
assert_ok "an empty zone with may_be_empty: accepted" "$TAPIS_BIN" check --policy "$tmp/empty.yaml"

printf '%s\n' "$zhead" "a.example A 198.18.9.9" >"$tmp/zones/local.rpz"
cat >"$tmp/local.yaml" <<'EOF'
version: 1
settings:
  sinkhole: { ipv4: 198.18.0.10 }
rules:
  - name: feed
    rpz: [zones/local.rpz]
EOF
assert_ok "local data of another address: accepted" "$TAPIS_BIN" check --policy "$tmp/local.yaml"
assert_match "... warned at the zone's FILE:LINE" \
	"$(re_escape "$tmp/zones/local.rpz"):5: warning: rule 'feed/sinkhole': local data of =a\.example \(A 198\.18\.9\.9, no AAAA\) is answered with settings\.sinkhole \(A 198\.18\.0\.10" "$OUT"

lab_test_end
