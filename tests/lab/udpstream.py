#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""udpstream.py - a steady, numbered UDP stream and its receiver, for lab tests.

  udpstream.py send --dst A,B,... --port P --rate PPS --run NAME --stop FILE --out JSON
      sends to each destination in turn, PPS packets a second in all, until FILE
      exists; each payload is "NAME DST SEQ". Writes {dst: sent} to JSON.
  udpstream.py recv --bind A,B,... --port P --stop FILE --out JSON
      one socket per address; counts distinct sequence numbers per run and
      destination until FILE exists and the sockets have been quiet for 0.5 s;
      writes {run: {dst: received}} to JSON. Writes PORT-ready next to JSON once
      every socket is bound, so a caller can wait for it.

Pacing is by the clock, not by sleeping per packet, so a slow moment is
caught up and the rate holds on average.
"""
import argparse
import json
import os
import select
import socket
import time


def send(a):
    dsts = a.dst.split(",")
    socks = {}
    for d in dsts:
        fam = socket.AF_INET6 if ":" in d else socket.AF_INET
        socks[d] = socket.socket(fam, socket.SOCK_DGRAM)
    sent = {d: 0 for d in dsts}
    seq = 0
    t0 = time.monotonic()
    while not os.path.exists(a.stop):
        due = int((time.monotonic() - t0) * a.rate)
        while seq < due:
            d = dsts[seq % len(dsts)]
            try:
                socks[d].sendto(f"{a.run} {d} {seq}".encode(), (d, a.port))
                sent[d] += 1
            except OSError:
                pass  # counted as not sent: the receiver's count is compared to sent
            seq += 1
        time.sleep(0.001)
    with open(a.out, "w") as f:
        json.dump(sent, f)


def recv(a):
    socks = []
    for d in a.bind.split(","):
        fam = socket.AF_INET6 if ":" in d else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((d, a.port))
        s.setblocking(False)
        socks.append(s)
    open(a.out + ".ready", "w").close()
    seen = {}
    last = time.monotonic()
    while True:
        r, _, _ = select.select(socks, [], [], 0.1)
        for s in r:
            while True:
                try:
                    data = s.recv(256)
                except BlockingIOError:
                    break
                last = time.monotonic()
                parts = data.decode(errors="replace").split()
                if len(parts) != 3:
                    continue
                seen.setdefault(parts[0], {}).setdefault(parts[1], set()).add(parts[2])
        if os.path.exists(a.stop) and time.monotonic() - last > 0.5:
            break
    with open(a.out, "w") as f:
        json.dump({run: {d: len(v) for d, v in ds.items()} for run, ds in seen.items()}, f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["send", "recv"])
    p.add_argument("--dst")
    p.add_argument("--bind")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--run", default="run")
    p.add_argument("--stop", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    send(a) if a.mode == "send" else recv(a)


if __name__ == "__main__":
    main()
