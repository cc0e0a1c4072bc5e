#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Generate the policy `make bench` runs against (issue 3).

Writes into OUTDIR:
  policy.yaml          three rules over the lists below
  drop-v4.txt  drop-v6.txt        rule bench-drop     (action drop, dst)
  monitor-v4.txt monitor-v6.txt   rule bench-monitor  (action monitor, both)
  allow-v4.txt allow-v6.txt       rule bench-allow    (action allow, dst)
  all-v4.txt           every IPv4 prefix of the policy (for the nftables set)
  nft.conf             netdev table with an interval set of all-v4.txt; the
                       device name is the placeholder @IFACE@
  meta.json            sizes, seed and the length histogram actually written

Shape (defaults: 500,000 IPv4, 100,000 IPv6 prefixes, seed 3):
  IPv4: ~60 % /24, ~20 % /16-/23, ~10 % /32, ~10 % other lengths. "Other" is
  mostly /25-/31 (hosting blocks) and 0.1 % of the total /10-/15, so the
  policy covers a realistic slice of the address space (about a fifth)
  rather than all of it. /32 and /25-/31 prefixes fall into a pool of
  hosting /24s (one per 4 such prefixes), as real abuse feeds do.
  IPv6: /32-/64, under a pool of /32 allocations inside 2000::/3 (one per 8
  prefixes), lengths weighted towards /48 and /64.
  Split: ~94 % drop, ~5 % monitor (direction both, so every packet is
  looked up by source too), a small allow list (0.2 %, at most 1,000 per
  family) of holes inside drop prefixes.
  198.18.0.0/15 (lab and bench traffic) and 2001:db8::/32 are never used,
  so lab addresses stay outside the policy unless a test adds them.

--small writes the "small policy" of issue 11 (most operators' lists hold
thousands of ranges, not hundreds of thousands): 800 IPv4 and 200 IPv6
prefixes and 1,000 host patterns, the same shape.

Host patterns (--hosts, default 2,000,000; --smoke 2,000; --small 1,000), in the files
  drop-hosts.txt       rule bench-drop, one pattern a line (~90 % of them)
  drop-hosts-etc.txt   rule bench-drop, hosts-file form ("0.0.0.0 name",
                       sometimes two names a line), plain names only
  monitor-hosts.txt    rule bench-monitor (0.5 %, at most 10,000)
  Shape: 2-4 labels (about 55 % 2, 30 % 3, 15 % 4), a registered domain
  (a word, word-word, word+digits, or DGA-like label) under a TLD drawn by
  weight (com, net, org, ru, de, co.uk, com.br, xyz, ...; a 2-label public
  suffix makes 3 labels the least), with subdomain labels like www, cdn-77,
  shop-1234; a quarter of the longer patterns reuse an already drawn
  domain, as lists do. Kinds: ~84 % subtree ("example.com"), ~10 %
  wildcard ("*.cdn-77.net"), ~6 % exact ("=api.x.org"). Every name is
  unique across the files. Hosts come from a random generator of their
  own (seeded from --seed), so the prefixes are the same with any --hosts.
"""
import argparse
import ipaddress
import json
import os
import random

LAB4 = (0xC6120000, 0xC613FFFF)  # 198.18.0.0/15


def v4_ok(a):
    """Unicast, not private/loopback/lab: 1.0.0.0-223.255.255.255 minus some."""
    top = a >> 24
    if top in (0, 10, 100, 127) or top >= 224:
        return False
    if LAB4[0] <= a <= LAB4[1]:
        return False
    if (a >> 16) in (0xA9FE, 0xC0A8) or (a >> 20) == 0xAC1:  # 169.254, 192.168, 172.16/12
        return False
    return True


def gen_v4(rng, n):
    out = set()
    n24 = int(n * 0.60)
    n16_23 = int(n * 0.20)
    n32 = int(n * 0.10)
    n_big = max(1, n // 1000) if n >= 1000 else 0  # /10-/15
    n_other = n - n24 - n16_23 - n32 - n_big  # /25-/31
    pool = []  # hosting /24s for /25-/32
    for _ in range(max(1, (n32 + n_other) // 4)):
        while True:
            a = rng.getrandbits(24) << 8
            if v4_ok(a):
                pool.append(a)
                break

    def add(plen, base=None):
        while True:
            if base is None:
                a = rng.getrandbits(32)
            else:
                a = rng.choice(base) | rng.getrandbits(8)
            a &= (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
            if not v4_ok(a):
                continue
            # a prefix shorter than /15 might span 198.18/15: check both ends
            end = a | ((1 << (32 - plen)) - 1)
            if a <= LAB4[1] and end >= LAB4[0]:
                continue
            if (a, plen) in out:
                continue
            out.add((a, plen))
            return

    for _ in range(n24):
        add(24)
    for _ in range(n16_23):
        add(rng.randint(16, 23))
    for _ in range(n32):
        add(32, pool)
    for _ in range(n_other):
        add(rng.randint(25, 31), pool)
    for _ in range(n_big):
        add(rng.randint(10, 15))
    return list(out)


V6_LENS = [32, 36, 40, 44, 46, 47, 48, 52, 56, 60, 64]
V6_WEIGHTS = [3, 2, 4, 4, 2, 2, 30, 5, 12, 4, 32]


def gen_v6(rng, n):
    out = set()
    tops = []
    # RIR-like blocks: 2001::/16 (excluding 2001:db8::/32), 2400::/12,
    # 2600::/12, 2800::/12, 2a00::/12, 2c00::/12
    blocks = [(0x2001, 16), (0x240, 12), (0x260, 12), (0x280, 12), (0x2A0, 12), (0x2C0, 12)]
    for _ in range(max(1, n // 8)):
        while True:
            hi, bits = rng.choice(blocks)
            top = (hi << (32 - bits)) | rng.getrandbits(32 - bits)
            if top != 0x20010DB8:
                tops.append(top)
                break
    while len(out) < n:
        plen = rng.choices(V6_LENS, V6_WEIGHTS)[0]
        a = (rng.choice(tops) << 96) | rng.getrandbits(96)
        a &= ((1 << 128) - 1) ^ ((1 << (128 - plen)) - 1)
        out.add((a, plen))
    return list(out)


def fmt4(p):
    return "%s/%d" % (ipaddress.IPv4Address(p[0]), p[1])


def fmt6(p):
    return "%s/%d" % (ipaddress.IPv6Address(p[0]), p[1])


def holes4(rng, drop, k):
    """Allow entries: /32 holes inside drop prefixes."""
    out = set()
    cands = [p for p in drop if p[1] <= 31]
    dropset = set(drop)
    while cands and len(out) < k:
        a, plen = rng.choice(cands)
        h = (a | rng.getrandbits(32 - plen), 32)
        if h not in dropset:
            out.add(h)
    return list(out)


def holes6(rng, drop, k):
    out = set()
    cands = [p for p in drop if p[1] < 64]
    dropset = set(drop)
    while cands and len(out) < k:
        a, plen = rng.choice(cands)
        h = ((a | rng.getrandbits(128 - plen)) >> 64 << 64, 64)
        if h not in dropset:
            out.add(h)
    return list(out)


def write_list(path, header, items, fmt):
    with open(path, "w") as f:
        f.write("# %s\n" % header)
        for p in items:
            f.write(fmt(p))
            f.write("\n")


# ---- host patterns ----------------------------------------------------------
# TLDs by weight, roughly as they appear in blocklists; two-label public
# suffixes (co.uk, com.br, ...) make the registered domain three labels.
TLDS = [("com", 380), ("net", 70), ("org", 50), ("ru", 50), ("info", 30), ("xyz", 30),
        ("top", 30), ("de", 20), ("co.uk", 15), ("com.br", 15), ("cn", 15), ("io", 15),
        ("online", 15), ("site", 15), ("club", 10), ("pl", 10), ("fr", 10), ("nl", 10),
        ("it", 10), ("in", 10), ("biz", 10), ("tk", 10), ("ml", 8), ("ga", 8), ("cf", 8),
        ("shop", 10), ("live", 8), ("icu", 8), ("vip", 6), ("win", 6), ("com.au", 5),
        ("co.jp", 5), ("com.tr", 5), ("ua", 8), ("kz", 4), ("ir", 6), ("vn", 6), ("es", 6),
        ("us", 6), ("cc", 6), ("me", 6), ("tv", 5), ("eu", 5), ("app", 5), ("store", 5)]
TLD_NAMES = [t for t, _ in TLDS]
TLD_WEIGHTS = [w for _, w in TLDS]
SYL = ("ka ve lo ra mi no tu se pa ri do ne ba co la fi ge ho ju ku le ma ni po qu sa ti "
       "vo wa xe yo zu an en in on un ar er or ex st tr pr gr bl cl fl sh ch th").split()
WORDS = ("example name shop cloud data media news best free online secure web app market "
         "store home bet casino game play stream video tube film music book deal promo bonus "
         "crypto coin pay bank loan trade invest mail login track click ads pixel metric "
         "stat cdn edge static img api auth update download soft dev host server net link "
         "proxy vpn tor hub world city global star sun moon blue red green fast easy smart "
         "top pro max ultra mega super best").split()
SUBS = ("www m mobile api cdn img static mail login secure app shop track ads ad pixel go "
        "click t s media files dl download update edge ns1 ns2 auth account pay my portal "
        "news blog eu us de ru cn assets js css beacon telemetry sync gw").split()


def word(rng):
    """A pronounceable made-up word of 2-4 syllables, or a dictionary word."""
    if rng.random() < 0.45:
        return rng.choice(WORDS)
    return "".join(rng.choice(SYL) for _ in range(rng.randint(2, 4)))


def domain_label(rng):
    """The registered label: word, word-word, word+digits, word-digits, DGA."""
    r = rng.random()
    if r < 0.30:
        return word(rng) + word(rng)
    if r < 0.50:
        return "%s-%s" % (word(rng), word(rng))
    if r < 0.65:
        return "%s%d" % (word(rng), rng.randint(1, 9999))
    if r < 0.80:
        return "%s-%d" % (word(rng), rng.randint(1, 9999))
    if r < 0.90:  # DGA-like: random letters and digits
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                       for _ in range(rng.randint(8, 20)))
    return word(rng)


def sub_label(rng):
    r = rng.random()
    if r < 0.55:
        return rng.choice(SUBS)
    if r < 0.75:
        return "%s-%d" % (rng.choice(SUBS), rng.randint(1, 999))
    if r < 0.90:
        return "%s-%d" % (word(rng), rng.randint(1, 9999))
    return word(rng)


def gen_hosts(rng, n):
    """n unique (kind, name) pairs; kind is "", "=" or "*." (the prefix)."""
    seen = set()
    out = []
    domains = []  # registered domains drawn so far, reused by longer names
    while len(out) < n:
        tld = rng.choices(TLD_NAMES, TLD_WEIGHTS)[0]
        tl = tld.count(".") + 1
        r = rng.random()
        labels = 2 if r < 0.55 else 3 if r < 0.85 else 4
        labels = max(labels, tl + 1)
        nsub = labels - tl - 1
        if nsub and domains and rng.random() < 0.25:
            dom = rng.choice(domains)
            nsub = max(0, labels - dom.count(".") - 1)
        else:
            dom = domain_label(rng) + "." + tld
            if len(domains) < 200000:
                domains.append(dom)
            else:
                domains[rng.randrange(len(domains))] = dom
        name = ".".join([sub_label(rng) for _ in range(nsub)] + [dom])
        if name in seen:
            continue
        seen.add(name)
        k = rng.random()
        kind = "" if k < 0.84 else "*." if k < 0.94 else "="
        out.append((kind, name))
    return out


def write_hosts(d, seed, hosts):
    """Split into the drop lists (plain and hosts-file form) and monitor."""
    n_mon = min(10000, max(1, len(hosts) // 200)) if hosts else 0
    mon, drop = hosts[:n_mon], hosts[n_mon:]
    # about a tenth of the plain names go to the hosts-file form list
    etc = [h for i, h in enumerate(drop) if not h[0] and i % 9 == 4]
    plain = [h for i, h in enumerate(drop) if h[0] or i % 9 != 4]
    hdr = "# generated by scripts/gen_bench_policy.py seed %d\n" % seed
    with open(os.path.join(d, "drop-hosts.txt"), "w") as f:
        f.write(hdr + "# bench-drop: one pattern a line; =exact, *.wildcard\n\n")
        f.writelines(k + nm + "\n" for k, nm in plain)
    with open(os.path.join(d, "drop-hosts-etc.txt"), "w") as f:
        f.write(hdr + "# bench-drop: hosts-file form\n127.0.0.1 localhost\n")
        i = 0
        while i < len(etc):
            if i + 1 < len(etc) and i % 7 == 3:  # now and then two names a line
                f.write("0.0.0.0 %s %s\n" % (etc[i][1], etc[i + 1][1]))
                i += 2
            else:
                f.write("0.0.0.0 %s\n" % etc[i][1])
                i += 1
    with open(os.path.join(d, "monitor-hosts.txt"), "w") as f:
        f.write(hdr + "# bench-monitor\n")
        f.writelines(k + nm + "\n" for k, nm in mon)
    kinds = {"subtree": 0, "wildcard": 0, "exact": 0}
    labels = {}
    for k, nm in hosts:
        kinds["wildcard" if k == "*." else "exact" if k == "=" else "subtree"] += 1
        c = nm.count(".") + 1
        labels[str(c)] = labels.get(str(c), 0) + 1
    return {"drop": len(drop), "monitor": len(mon), "drop_hosts_file_form": len(etc),
            "kinds": kinds, "labels": labels}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--v4", type=int, default=500000, help="IPv4 prefixes (500000)")
    ap.add_argument("--v6", type=int, default=100000, help="IPv6 prefixes (100000)")
    ap.add_argument("--hosts", type=int, default=None,
                    help="host patterns (2000000; --smoke 2000)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--smoke", action="store_true",
                    help="small policy for the smoke run (5000 IPv4, 1000 IPv6)")
    ap.add_argument("--small", action="store_true",
                    help="the small policy of issue 11's goals: 1,000 prefixes "
                    "(800 IPv4, 200 IPv6) and 1,000 host patterns")
    a = ap.parse_args()
    if a.smoke and a.small:
        ap.error("--smoke and --small are two different policies: choose one")
    if a.smoke:
        a.v4, a.v6 = 5000, 1000
    if a.small:
        a.v4, a.v6 = 800, 200
    if a.hosts is None:
        a.hosts = 2000 if a.smoke else 1000 if a.small else 2000000
    os.makedirs(a.outdir, exist_ok=True)
    rng = random.Random(a.seed)

    v4 = sorted(gen_v4(rng, a.v4), key=lambda p: (p[1], p[0]))
    v6 = sorted(gen_v6(rng, a.v6), key=lambda p: (p[1], p[0]))
    rng.shuffle(v4)
    rng.shuffle(v6)
    n_allow4 = min(1000, max(1, a.v4 // 500)) if a.v4 else 0
    n_allow6 = min(1000, max(1, a.v6 // 500)) if a.v6 else 0
    mon4 = v4[: int(len(v4) * 0.05)]
    drop4 = v4[len(mon4):]
    mon6 = v6[: int(len(v6) * 0.05)]
    drop6 = v6[len(mon6):]
    # holes replace a few drop entries so the total stays exactly as asked
    drop4 = drop4[: len(drop4) - n_allow4]
    drop6 = drop6[: len(drop6) - n_allow6]
    allow4 = holes4(rng, drop4, n_allow4)
    allow6 = holes6(rng, drop6, n_allow6)

    d = a.outdir
    hosts = gen_hosts(random.Random(a.seed * 7919 + 1), a.hosts)
    hmeta = write_hosts(d, a.seed, hosts)
    lists = {
        "drop-v4.txt": (drop4, fmt4), "drop-v6.txt": (drop6, fmt6),
        "monitor-v4.txt": (mon4, fmt4), "monitor-v6.txt": (mon6, fmt6),
        "allow-v4.txt": (allow4, fmt4), "allow-v6.txt": (allow6, fmt6),
    }
    for name, (items, fmt) in lists.items():
        write_list(os.path.join(d, name), "generated by scripts/gen_bench_policy.py seed %d"
                   % a.seed, items, fmt)
    all4 = drop4 + mon4 + allow4
    write_list(os.path.join(d, "all-v4.txt"), "every IPv4 prefix of policy.yaml", all4, fmt4)

    with open(os.path.join(d, "policy.yaml"), "w") as f:
        f.write("""# generated by scripts/gen_bench_policy.py (seed %d): %d IPv4, %d IPv6 prefixes,
# %d host patterns
version: 1
rules:
  - name: bench-allow
    action: allow
    reference: "bench: holes inside drop prefixes"
    net_lists: [ allow-v4.txt, allow-v6.txt ]
  - name: bench-drop
    action: drop
    reference: "bench: court-order sized list"
    net_lists: [ drop-v4.txt, drop-v6.txt ]
    host_lists: [ drop-hosts.txt, drop-hosts-etc.txt ]
  - name: bench-monitor
    action: monitor
    reference: "bench: abuse feed, both directions"
    direction: both
    net_lists: [ monitor-v4.txt, monitor-v6.txt ]
    host_lists: [ monitor-hosts.txt ]
""" % (a.seed, len(all4), len(drop6) + len(mon6) + len(allow6), len(hosts)))

    # nftables: one interval set, auto-merge folds the overlaps nft refuses
    with open(os.path.join(d, "nft.conf"), "w") as f:
        f.write("table netdev tapis_bench {\n"
                "  set blk {\n    type ipv4_addr\n    flags interval\n    auto-merge\n"
                "    elements = {\n")
        for i in range(0, len(all4), 1000):
            f.write("      " + ", ".join(fmt4(p) for p in all4[i:i + 1000]) + ",\n")
        f.write("    }\n  }\n"
                "  chain in {\n    type filter hook ingress device \"@IFACE@\" priority 0;\n"
                "    ip daddr @blk counter drop\n  }\n}\n")

    hist4, hist6 = {}, {}
    for _, l in all4:
        hist4[l] = hist4.get(l, 0) + 1
    for _, l in drop6 + mon6 + allow6:
        hist6[l] = hist6.get(l, 0) + 1
    meta = {
        "seed": a.seed, "v4": len(all4), "v6": len(drop6) + len(mon6) + len(allow6),
        "hosts": len(hosts), "hosts_detail": hmeta,
        "rules": {"bench-drop": [len(drop4), len(drop6)],
                  "bench-monitor": [len(mon4), len(mon6)],
                  "bench-allow": [len(allow4), len(allow6)]},
        "v4_plen": {str(k): hist4[k] for k in sorted(hist4)},
        "v6_plen": {str(k): hist6[k] for k in sorted(hist6)},
    }
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print("gen_bench_policy: %s: %d IPv4, %d IPv6 prefixes, %d host patterns (seed %d)"
          % (d, meta["v4"], meta["v6"], meta["hosts"], a.seed))


if __name__ == "__main__":
    main()
