#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Report of jitprof.sh's samples: by subprogram, by source file and line,
and (--func ADDR) one subprogram's JIT instructions with their samples.

A sample lands on the instruction after the one that waited: the one
after a multiply, a load that missed or a call's return."""
import argparse
import bisect
import collections
import glob
import os
import subprocess


def load(out):
    funcs, lines = [], {}
    for path in glob.glob(os.path.join(out, 'table.*')):
        pid = path.rsplit('.', 1)[1]
        rows = []
        for ln in open(path):
            f = ln.rstrip('\n').split('\t')
            if f[0] == 'F':
                funcs.append((int(f[1], 16), int(f[2]), int(f[3]), pid))
            elif f[0] == 'L':
                rows.append((int(f[1], 16), f[2]))
        rows.sort()
        lines[pid] = rows
    funcs.sort()
    return funcs, lines


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('out')
    ap.add_argument('--top', type=int, default=40, help='source lines shown')
    ap.add_argument('--src', default='bpf', help='where the BPF sources are')
    ap.add_argument('--func', help='kernel address of a subprogram to disassemble')
    a = ap.parse_args()
    funcs, lines = load(a.out)
    starts = [f[0] for f in funcs]
    by_line, by_func, by_ip = collections.Counter(), collections.Counter(), collections.Counter()
    total = inprog = 0
    for s in open(os.path.join(a.out, 'ips')):
        try:
            ip = int(s, 16)
        except ValueError:
            continue
        total += 1
        i = bisect.bisect_right(starts, ip) - 1
        if i < 0 or ip >= funcs[i][0] + funcs[i][1]:
            continue
        start, _, off, pid = funcs[i]
        inprog += 1
        rows = lines[pid]
        j = bisect.bisect_right(rows, (ip, '\uffff')) - 1
        by_line[rows[j][1] if j >= 0 else '?'] += 1
        by_func[start] += 1
        by_ip[(pid, start, ip)] += 1
    pct = lambda v: 100.0 * v / max(inprog, 1)
    print(f'samples {total}, in the program {inprog}')
    if not inprog:
        return
    for k, v in by_func.most_common(10):
        first = [r[1] for p in lines for r in lines[p] if r[0] == k][:1]
        print(f'{v:8d} {pct(v):5.1f}%  subprogram {k:x} {first[0] if first else ""}')
    print()
    by_file = collections.Counter()
    for k, v in by_line.items():
        by_file[k.split(':')[0]] += v
    for k, v in by_file.most_common():
        print(f'{v:8d} {pct(v):5.1f}%  {k}')
    print()
    text = {}
    for k, v in by_line.most_common(a.top):
        fn, _, num = k.partition(':')
        if fn not in text:
            try:
                text[fn] = open(os.path.join(a.src, fn)).read().split('\n')
            except OSError:
                text[fn] = []
        n = int(num) if num.isdigit() else 0
        src = text[fn][n - 1].strip() if 0 < n <= len(text[fn]) else ''
        print(f'{v:8d} {pct(v):5.1f}%  {k:24s} {src[:90]}')
    if a.func:
        fa = int(a.func, 16)
        f = [x for x in funcs if x[0] == fa]
        if not f:
            raise SystemExit(f'no subprogram at {a.func}')
        start, length, off, pid = f[0]
        dis = subprocess.run(['objdump', '-D', '-b', 'binary', '-m', 'i386:x86-64',
                              f'--adjust-vma={start - off}', f'--start-address={start}',
                              f'--stop-address={start + length}',
                              os.path.join(a.out, f'img.{pid}')],
                             capture_output=True, text=True, check=True).stdout
        rows, addrs, last = lines[pid], [r[0] for r in lines[pid]], None
        print()
        for ln in dis.split('\n'):
            head = ln.split(':', 1)[0].strip()
            try:
                ip = int(head, 16)
            except ValueError:
                continue
            j = bisect.bisect_right(addrs, ip) - 1
            loc = rows[j][1] if j >= 0 else ''
            if loc != last:
                print(f'         ---- {loc}')
                last = loc
            print(f'{by_ip.get((pid, start, ip), 0):8d} {ln.strip()}')


if __name__ == '__main__':
    main()
