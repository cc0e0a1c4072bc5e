#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# verify_with_tshark.sh - have tshark, a dissector written by other people,
# check what tests/lib/pkt.c builds: every IPv4/UDP/TCP checksum, every
# encapsulation, and the hostname a DNS, TLS or HTTP parser reads from each
# packet. selftest_pkt checks the builder against our own parser; this
# checks both against an outside one.
#
# Not part of CI: tshark is no dependency of tapis. Run it after changing
# pkt.c:   tests/lib/verify_with_tshark.sh path/to/selftest_pkt
# (apt-get install tshark). Exits non-zero on any disagreement.
set -euo pipefail

bin=${1:?usage: $0 path/to/selftest_pkt}
command -v tshark >/dev/null || { echo "tshark not installed" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

PKT_SELFTEST_DUMP=$dir "$bin" test_encap_matrix test_pkt_fragment test_extras \
	test_corpus_tuples \
	>"$dir/selftest.out" 2>&1 || { cat "$dir/selftest.out"; exit 1; }

# Checksum checks are off by default in tshark; turn all of them on.
ts() {
	tshark -n -r "$1" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-o tcp.check_checksum:TRUE -T fields -E separator=/t \
		-E occurrence=a -E aggregator=, "${@:2}" 2>/dev/null
}

FIELDS=(-e frame.number -e frame.protocols -e ip.checksum.status
	-e udp.checksum.status -e tcp.checksum.status -e _ws.malformed
	-e _ws.expert.severity -e dns.qry.name
	-e tls.handshake.extensions_server_name -e http.host -e vlan.id
	-e ieee8021ad.id -e pppoe.session_id -e mpls.label -e mpls.bottom
	-e tls.record.length -e ip.reassembled.length
	-e ipv6.reassembled.length)

# Shared awk: column names for the fields above, and the checks every
# frame must pass (checksums Good = 1, nothing malformed, no expert info
# at warning level or above: 0x600000).
AWK_COMMON='
BEGIN { FS = "\t"
	split("frame protos ipck udpck tcpck malformed sev dns sni host vlan ad pppoe mpls bos reclen re4 re6", n, " ")
}
function col(name,   i) { for (i in n) if (n[i] == name) return $i; return "" }
function allgood(v,   a, i, k) {
	if (v == "") return 1
	k = split(v, a, ",")
	for (i = 1; i <= k; i++) if (a[i] != "1") return 0
	return 1
}
function maxsev(v,   a, i, k, m) {
	m = 0; k = split(v, a, ",")
	for (i = 1; i <= k; i++) if (a[i] + 0 > m) m = a[i] + 0
	return m
}
function bad(msg) { printf "%s frame %s: %s\n", file, $1, msg; errors++ }
function common() {
	if (!allgood(col("ipck"))) bad("IPv4 checksum " col("ipck"))
	if (!allgood(col("udpck"))) bad("UDP checksum " col("udpck"))
	if (!allgood(col("tcpck"))) bad("TCP checksum " col("tcpck"))
	if (col("malformed") != "") bad("malformed")
	if (maxsev(col("sev")) >= 6291456) bad("expert info " col("sev"))
}
function hostname(app) {
	if (app ~ /^dns/) return col("dns")
	if (app == "tls") return col("sni")
	if (app == "http") return col("host")
	return col("dns") col("sni") col("host")
}
'

ts "$dir/matrix.pcap" "${FIELDS[@]}" >"$dir/matrix.out"
awk -v file=matrix "$AWK_COMMON"'
NR == FNR { if (FNR > 1) { enc[$1] = $2; fam[$1] = $3; app[$1] = $4; want[$1] = $5; rows++ }; next }
{
	f = $1; seen++
	common()
	if (col("udpck") col("tcpck") == "") bad("no L4 checksum verified")
	if (hostname(app[f]) != want[f]) bad(app[f] " name \"" hostname(app[f]) "\", want \"" want[f] "\"")
	inner = fam[f] == 4 ? "ip" : "ipv6"
	if (col("protos") !~ (":" inner "(:ipv6[.][a-z]+)*:(udp|tcp)")) bad("innermost not " inner ": " col("protos"))
	e = enc[f]
	got = col("vlan") "|" col("ad") "|" col("pppoe") "|" col("mpls") "|" col("bos")
	wenc = "||||"
	if (e == "vlan") wenc = "100||||"
	if (e == "qinq") wenc = "200|100|||"
	if (e == "vlan-vlan") wenc = "300,4094||||"
	if (e == "pppoe") wenc = "||0x1234||"
	if (e == "qinq-pppoe") wenc = "200|100|0x1234||"
	if (e == "mpls") wenc = "|||16|1"
	if (e == "mpls-mpls") wenc = "|||17,18|0,1"
	if (e == "vlan-mpls") wenc = "42|||1000,2000|0,1"
	if (got != wenc) bad(e ": vlan|ad|pppoe|mpls|bos " got ", want " wenc)
	if (e == "in-ipv4" && col("protos") !~ /ethertype:ip:ipv?6?:/) bad("not IP in IPv4: " col("protos"))
	if (e == "in-ipv6" && col("protos") !~ /ethertype:ipv6:ipv?6?:/) bad("not IP in IPv6: " col("protos"))
	if (e == "ipopts-or-v6ext" && fam[f] == 6 && col("protos") !~ /ipv6:ipv6.hopopts:ipv6.dstopts:ipv6.routing:ipv6.dstopts:/)
		bad("extension headers: " col("protos"))
}
END {
	if (seen != rows) { print "matrix: " seen " frames, " rows " expected"; errors++ }
	printf "matrix: %d frames, %d problems\n", seen, errors
	exit errors > 0
}' "$dir/matrix.tsv" "$dir/matrix.out"

ts "$dir/extras.pcap" "${FIELDS[@]}" >"$dir/extras.out"
awk -v file=extras "$AWK_COMMON"'
NR == FNR { if (FNR > 1) { what[$1] = $2; app[$1] = $3; want[$1] = $4; rows++ }; next }
{
	f = $1; seen++
	common()
	w = want[f] == "-" ? "" : want[f]
	if (hostname(app[f]) != w) bad(what[f] ": name \"" hostname(app[f]) "\", want \"" w "\"")
	if (what[f] ~ /records/ && col("reclen") !~ /^[0-9]+,[0-9]+,[0-9]+$/) bad("want 3 TLS records, got " col("reclen"))
}
END {
	if (seen != rows) { print "extras: " seen " frames, " rows " expected"; errors++ }
	printf "extras: %d frames, %d problems\n", seen, errors
	exit errors > 0
}' "$dir/extras.tsv" "$dir/extras.out"

# Fragments: tshark reassembles each datagram and checks the UDP checksum
# of the whole, which pkt_fragment must have carried over unchanged.
ts "$dir/frags.pcap" "${FIELDS[@]}" >"$dir/frags.out"
awk -v file=frags "$AWK_COMMON"'
{
	common(); frames++
	if (col("dns") != "") {
		whole++
		if (col("dns") != "a-name-long-enough-to-need-three-fragments.fragments.example.net") bad("name " col("dns"))
		if (col("udpck") != "1") bad("reassembled UDP checksum not verified: " col("udpck"))
		if (col("re4") col("re6") == "") bad("not reassembled")
	}
}
END {
	if (whole != 2) { print "frags: " whole " reassembled datagrams, want 2"; errors++ }
	printf "frags: %d frames, %d datagrams reassembled, %d problems\n", frames, whole, errors
	exit errors > 0
}' "$dir/frags.out"

# Real captures: l4_csum_ok/ipv4_hdr_csum_ok must give tshark's verdict on
# every hostname frame selftest_pkt looked at (a frame is wrong for tshark
# when any of its checksum statuses is 0, Bad).
if [ -s "$dir/corpus-csum.tsv" ]; then
	cut -f1 "$dir/corpus-csum.tsv" | sort -u | while read -r f; do
		ts "$f" -e frame.number -e ip.checksum.status \
			-e udp.checksum.status -e tcp.checksum.status |
			sed "s|^|$f\t|"
	done >"$dir/corpus-tshark.tsv"
	awk -F'\t' '
	NR == FNR { bad[$1 "\t" $2] = ($3 "," $4 "," $5) ~ /(^|,)0(,|$)/; next }
	{
		k = $1 "\t" $2; n++
		if (!(k in bad)) { print "corpus: tshark has no frame " k; e++; next }
		if (($3 == "wrong") != bad[k]) { print "corpus: " k ": pkt.c says " $3; e++ }
		if ($3 == "wrong") w++
	}
	END {
		printf "corpus: %d frames, %d with wrong checksums, %d disagreements\n", n, w, e
		exit e > 0
	}' "$dir/corpus-tshark.tsv" "$dir/corpus-csum.tsv"
else
	echo "corpus: not found, skipped"
fi

echo "tshark agrees with pkt.c"
