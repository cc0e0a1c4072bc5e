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

--hosts N is the hook for hostname patterns (2,000,000 in the full bench
once hostnames exist); it is accepted and currently writes nothing.
"""
import argparse
import ipaddress
import json
import os
import random
import sys

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--v4", type=int, default=500000, help="IPv4 prefixes (500000)")
    ap.add_argument("--v6", type=int, default=100000, help="IPv6 prefixes (100000)")
    ap.add_argument("--hosts", type=int, default=0,
                    help="host patterns: hook for when hostnames exist; writes nothing yet")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--smoke", action="store_true",
                    help="small policy for the smoke run (5000 IPv4, 1000 IPv6)")
    a = ap.parse_args()
    if a.smoke:
        a.v4, a.v6 = 5000, 1000
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
        f.write("""# generated by scripts/gen_bench_policy.py (seed %d): %d IPv4, %d IPv6 prefixes
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
  - name: bench-monitor
    action: monitor
    reference: "bench: abuse feed, both directions"
    direction: both
    net_lists: [ monitor-v4.txt, monitor-v6.txt ]
""" % (a.seed, len(all4), len(drop6) + len(mon6) + len(allow6)))

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
    if a.hosts:
        print("gen_bench_policy: --hosts %d: hostnames are not supported yet, none written"
              % a.hosts, file=sys.stderr)
    meta = {
        "seed": a.seed, "v4": len(all4), "v6": len(drop6) + len(mon6) + len(allow6),
        "hosts": 0, "hosts_requested": a.hosts,
        "rules": {"bench-drop": [len(drop4), len(drop6)],
                  "bench-monitor": [len(mon4), len(mon6)],
                  "bench-allow": [len(allow4), len(allow6)]},
        "v4_plen": {str(k): hist4[k] for k in sorted(hist4)},
        "v6_plen": {str(k): hist6[k] for k in sorted(hist6)},
    }
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print("gen_bench_policy: %s: %d IPv4, %d IPv6 prefixes (seed %d)"
          % (d, meta["v4"], meta["v6"], a.seed))


if __name__ == "__main__":
    main()
