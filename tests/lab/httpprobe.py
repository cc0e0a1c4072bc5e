#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""httpprobe.py - clients that misbehave, for the robustness part of
tests/lab/test_serve.sh. Each mode prints one JSON object on stdout and
stops by itself (every loop is bounded in count and time).

  httpprobe.py HOST PORT concurrent N      N connections at once, each a GET
                                           /metrics: how many got a 200, how many
                                           were closed without an answer
  httpprobe.py HOST PORT slow N SECONDS    N clients that send the start of a
                                           request and stall: when the server
                                           closed them (within SECONDS), and
                                           whether a GET is answered meanwhile
  httpprobe.py HOST PORT garbage           requests that are not HTTP, too large,
                                           or odd: the status line each got
"""
import json
import resource
import select
import socket
import sys
import time

GET = b"GET /metrics HTTP/1.1\r\nHost: tapis\r\nConnection: close\r\n\r\n"


def status_of(data):
    """The status code of a response's first line, or None."""
    line = data.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def one(host, port, payload, timeout=5.0):
    """Send payload on a new connection and read until the server closes
    (or timeout): the status code, or 'closed' / 'timeout'."""
    s = socket.create_connection((host, port), timeout=timeout)
    data = b""
    try:
        s.sendall(payload)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        else:
            return "timeout"
    except socket.timeout:
        if not data:
            return "timeout"
    except ConnectionError:
        pass
    finally:
        s.close()
    st = status_of(data)
    return st if st is not None else "closed"


def concurrent(host, port, n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 64)), hard))
    socks, res = [], {"connections": n, "ok": 0, "other_status": 0, "closed": 0,
                      "connect_failed": 0, "unfinished": 0}
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        except OSError:
            res["connect_failed"] += 1
            s.close()
            continue
        socks.append(s)
    # All connected (or refused) before any request: they are concurrent.
    pending = {s: b"" for s in socks}
    unsent = set(socks)
    end = time.monotonic() + 60
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN | select.POLLOUT)
    fds = {s.fileno(): s for s in socks}
    while pending and time.monotonic() < end:
        for fd, ev in poller.poll(1000):
            s = fds[fd]
            if s not in pending:
                continue
            if ev & select.POLLOUT and s in unsent:
                try:
                    s.send(GET)
                except OSError:
                    pass
                unsent.discard(s)
                poller.modify(s, select.POLLIN)
                continue
            try:
                chunk = s.recv(1 << 20)
            except OSError:
                chunk = b""
            if chunk:
                pending[s] += chunk
                continue
            st = status_of(pending.pop(s))
            if st == 200:
                res["ok"] += 1
            elif st is None:
                res["closed"] += 1
            else:
                res["other_status"] += 1
            poller.unregister(s)
            s.close()
    res["unfinished"] = len(pending)
    for s in pending:
        s.close()
    return res


def slow(host, port, n, seconds):
    """n clients send the start of a request and then nothing: each should
    be closed after the server's idle timeout, while a normal GET from the
    same address is still answered."""
    socks = [socket.create_connection((host, port), timeout=2) for _ in range(n)]
    for s in socks:
        s.sendall(GET[:10])
        s.setblocking(False)
    closed_at = [None] * n
    t0 = time.monotonic()
    meanwhile = None
    while time.monotonic() - t0 < seconds and None in closed_at:
        for k, s in enumerate(socks):
            if closed_at[k] is not None:
                continue
            try:
                if s.recv(4096) == b"":
                    closed_at[k] = time.monotonic() - t0
            except BlockingIOError:
                pass
            except OSError:
                closed_at[k] = time.monotonic() - t0
        if meanwhile is None and time.monotonic() - t0 > 2:
            meanwhile = one(host, port, GET)
        time.sleep(0.2)
    for s in socks:
        s.close()
    done = [c for c in closed_at if c is not None]
    return {"clients": n, "closed": len(done),
            "closed_after_s": round(max(done), 1) if done else None,
            "get_meanwhile": meanwhile}


def garbage(host, port):
    cases = {
        "binary": bytes(range(256)) * 4 + b"\r\n\r\n",
        "no_version": b"GET /metrics\r\n\r\n",
        "bad_method": b"FROB /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "post": b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        "huge_header": b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n",
        "huge_url": b"GET /" + b"m" * 65536 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        "other_path": b"GET /admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "root": b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "non_utf8_path": b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "head": b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "http10": b"GET /metrics HTTP/1.0\r\n\r\n",
        "query": b"GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    }
    out = {}
    for name, payload in cases.items():
        try:
            out[name] = one(host, port, payload)
        except OSError as e:
            out[name] = "error: %s" % e.strerror
    return out


def main():
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode == "concurrent":
        r = concurrent(host, port, int(sys.argv[4]))
    elif mode == "slow":
        r = slow(host, port, int(sys.argv[4]), float(sys.argv[5]))
    elif mode == "garbage":
        r = garbage(host, port)
    else:
        sys.exit("unknown mode %s" % mode)
    print(json.dumps(r))


if __name__ == "__main__":
    main()
