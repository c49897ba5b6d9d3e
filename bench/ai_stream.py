#!/usr/bin/env python3
"""The measuring client of bench/ai_stream.sh (Python 3 standard library only; loopback only).

  ai_stream.py ttfb --server PORT --mock PORT --handle H --iterations N [--warmup W]
  ai_stream.py hold --server PORT --mock PORT --handle H --streams N --hold-ms MS --pid PID

ttfb: N sequential iterations, each a fresh conversation with one visitor message, then
  (b) the mock alone: POST /v1/chat/completions (the exact body the server sent it during the
      warm-up) on a kept-alive connection, time to the first content delta line;
  (a) the server: GET .../stream on a kept-alive connection, time to the response head, to
      `event: message_start` and to the first `event: delta`, and on to `message_end`.
  added = (a) to the first delta minus (b), per iteration. Both are timed by the same code, so the
  client's own overhead is in both and cancels out of the difference.
hold: N streams open at once over HTTP/1.1, each stalled by the mock after its first delta for
  hold-ms; the server's VmRSS before, while all are held, and after they end.

Results are printed as `key=value` lines on stdout; progress goes to stderr. Every socket has a
timeout and every phase a deadline.
"""
import argparse
import asyncio
import json
import math
import os
import socket
import statistics
import sys
import time

HOST = "127.0.0.1"
IO_TIMEOUT = 30.0  # seconds, any single socket operation
MOCK_DELTA = b'"delta":{"content":"'  # a content chunk (the first chunk only carries the role)
QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux


def log(msg):
    print(f"ai_stream.py: {msg}", file=sys.stderr, flush=True)


def now_ns():
    return time.perf_counter_ns()


class Conn:
    """A minimal kept-alive HTTP/1.1 client over one socket: Content-Length and chunked bodies."""

    def __init__(self, port):
        self.port = port
        self.sock = None
        self.buf = b""

    def connect(self):
        self.close()
        self.sock = socket.create_connection((HOST, self.port), timeout=IO_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed by the peer")
        # Linux clears TCP_QUICKACK after a while: set it again after every read, so that this
        # client never delays an ACK. A peer without TCP_NODELAY (the mock without --nodelay 1)
        # would otherwise hold its second write on a kept-alive connection until the delayed
        # ACK: ~40 ms that belong to neither the mock nor the server.
        if QUICKACK is not None:
            self.sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        return data

    def send(self, method, path, headers=None, body=None):
        if self.sock is None:
            self.connect()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        req = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        self.sock.sendall(req)

    def response(self, on_data=None):
        """Reads one response. on_data(bytes_so_far_of_body, t_ns) is called after every read that
        added body bytes. Returns (status, headers dict, body bytes, t_head_ns)."""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv()
        t_head = now_ns()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        body = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            t = t_head
            while True:
                while b"\r\n" not in self.buf:
                    self.buf += self._recv()
                    t = now_ns()
                size_line, rest = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(rest) < size + 2:
                    rest += self._recv()
                    t = now_ns()
                if size == 0:
                    # no trailers are expected: the final CRLF follows at once
                    self.buf = rest[2:]
                    break
                body += rest[:size]
                self.buf = rest[size + 2 :]
                if on_data is not None:
                    on_data(body, t)
        elif "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                self.buf += self._recv()
            body, self.buf = self.buf[:n], self.buf[n:]
            if on_data is not None:
                on_data(body, now_ns())
        else:  # read to the end; the connection is not reusable
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                body += data
                if on_data is not None:
                    on_data(body, now_ns())
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body, t_head

    def request(self, method, path, headers=None, body=None):
        self.send(method, path, headers, body)
        status, hdrs, data, _ = self.response()
        return status, hdrs, data


def json_call(conn, method, path, obj=None, token=None, expect=(200, 201)):
    headers = {"Content-Type": "application/json"} if obj is not None else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(obj).encode() if obj is not None else None
    status, _, data = conn.request(method, path, headers, body)
    if status not in expect:
        raise RuntimeError(f"{method} {path}: {status} {data[:200]!r}")
    return json.loads(data) if data else None


def new_conversation(conn, handle, text):
    c = json_call(conn, "POST", "/api/v1/public/conversations", {"workspace_handle": handle, "visitor_name": "Bench"})
    path = f"/api/v1/public/conversations/{c['id']}"
    json_call(conn, "POST", f"{path}/messages", {"content": text}, token=c["visitor_token"])
    return path, c["visitor_token"]


def timed_stream(conn, path, token):
    """(a): one stream on the kept-alive server connection; times in ns from the request's send."""
    marks = {}

    def on_data(body, t):
        if "start" not in marks and b"event: message_start" in body:
            marks["start"] = t
        if "delta" not in marks and b"event: delta" in body:
            marks["delta"] = t

    t0 = now_ns()
    conn.send("GET", f"{path}/stream", {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
    status, _, body, t_head = conn.response(on_data)
    t_end = now_ns()
    if status != 200 or b"event: message_end" not in body or "delta" not in marks:
        raise RuntimeError(f"stream {path}: {status} {body[:300]!r}")
    return t_head - t0, marks["start"] - t0, marks["delta"] - t0, t_end - t0


def timed_mock(conn, body):
    """(b): the mock alone, the same request the server makes, time to its first content delta."""
    marks = {}

    def on_data(data, t):
        if "delta" not in marks and MOCK_DELTA in data:
            marks["delta"] = t

    t0 = now_ns()
    conn.send("POST", "/v1/chat/completions", {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}, body)
    status, _, data, _ = conn.response(on_data)
    if status != 200 or "delta" not in marks or b"[DONE]" not in data:
        raise RuntimeError(f"mock: {status} {data[:300]!r}")
    return marks["delta"] - t0


def pct(values, p):
    """The p-th percentile, nearest rank."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100.0 * len(s)) - 1)]


def emit(key, value):
    print(f"{key}={value}", flush=True)


def ms(ns):
    return f"{ns / 1e6:.3f}"


def run_ttfb(a):
    srv, mock = Conn(a.server), Conn(a.mock)
    json_call(mock, "POST", "/_mock/reset")
    log(f"ttfb: {a.warmup} warm-up iterations")
    for _ in range(a.warmup):
        path, token = new_conversation(srv, a.handle, "What are your opening hours?")
        timed_stream(srv, path, token)
    recorded = json_call(mock, "GET", "/_mock/requests")
    if not recorded:
        raise RuntimeError("the mock recorded no provider request during the warm-up")
    mock_body = json.dumps(recorded[-1]["body"]).encode()  # what the server really sends
    json_call(mock, "POST", "/_mock/reset")
    log(f"ttfb: {a.iterations} iterations (provider request body {len(mock_body)} bytes)")
    rows = []
    deadline = time.monotonic() + a.deadline
    for i in range(a.iterations):
        if time.monotonic() > deadline:
            log(f"ttfb: deadline reached after {i} iterations")
            break
        path, token = new_conversation(srv, a.handle, "What are your opening hours?")
        b = timed_mock(mock, mock_body)
        head, start, delta, end = timed_stream(srv, path, token)
        rows.append((b, head, start, delta, end, delta - b))
    json_call(mock, "POST", "/_mock/reset")
    if a.raw:
        with open(a.raw, "w") as f:
            f.write("mock_first_delta,head,message_start,first_delta,message_end,added\n")
            for r in rows:
                f.write(",".join(str(v) for v in r) + "\n")
    n = len(rows)
    emit("ttfb_iterations", n)
    emit("ttfb_body_bytes", len(mock_body))
    for idx, name in enumerate(("mock_first_delta", "head", "message_start", "first_delta", "message_end", "added")):
        col = [r[idx] for r in rows]
        emit(f"{name}_p50_ms", ms(statistics.median(col)))
        emit(f"{name}_p99_ms", ms(pct(col, 99)))
        emit(f"{name}_mean_ms", ms(statistics.fmean(col)))
    # the difference of the medians as well: less sensitive to a slow mock call in one iteration
    emit("added_of_medians_ms", ms(statistics.median(r[3] for r in rows) - statistics.median(r[0] for r in rows)))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


async def hold_one(port, path, token, held, state, deadline):
    """One stream: 'held' once its first delta arrived; then read to message_end or an error."""
    reader = writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 10)
        req = (f"GET {path}/stream HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
               f"Accept: text/event-stream\r\nConnection: close\r\n\r\n").encode()
        writer.write(req)
        await writer.drain()
        data = b""
        got_delta = False
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            chunk = await asyncio.wait_for(reader.read(65536), left)
            if not chunk:
                return "ended" if b"event: message_end" in data else ("error" if b"event: error" in data else "eof")
            data += chunk
            if not got_delta and b"event: delta" in data:
                got_delta = True
                state["held"] += 1
                if state["held"] == state["n"]:
                    held.set()
            if b"event: error" in data:
                return "error"
            if b"event: message_end" in data:
                return "ended"
    except asyncio.TimeoutError:
        return "timeout"
    except OSError:
        return "oserror"
    finally:
        if writer is not None:
            writer.close()


async def hold_main(a, convs):
    state = {"held": 0, "n": len(convs)}
    held = asyncio.Event()
    t0 = time.monotonic()
    deadline = t0 + a.hold_ms / 1000.0 + 30.0
    tasks = [asyncio.create_task(hold_one(a.server, p, t, held, state, deadline)) for p, t in convs]
    # every stream must have its first delta well before the mock's stall ends
    try:
        await asyncio.wait_for(held.wait(), a.hold_ms / 1000.0 * 0.6)
    except asyncio.TimeoutError:
        pass
    t_held = time.monotonic() - t0
    samples = []
    for _ in range(5):
        samples.append(rss_kib(a.pid))
        await asyncio.sleep(0.2)
    fds = fd_count(a.pid)
    held_n = state["held"]
    results = await asyncio.gather(*tasks)
    t_done = time.monotonic() - t0
    return held_n, t_held, max(samples), fds, results, t_done


def hold_round(a, srv, mock, prefix):
    """One round: a.streams conversations, then all their streams at once, held by the mock."""
    json_call(mock, "POST", "/_mock/reset")
    log(f"{prefix}: preparing {a.streams} conversations")
    convs = [new_conversation(srv, a.handle, "Tell me about your services.") for _ in range(a.streams)]
    srv.close()
    # the mock's default reply: its role chunk (186 bytes) and first content chunk "Hello " (173)
    # are sent, then it stalls for hold_ms before the rest
    step = {"stall_after_bytes": 359, "stall_after_ms": a.hold_ms}
    queued = json_call(mock, "POST", "/_mock/script", [step] * a.streams)
    if queued.get("queued") != a.streams:
        raise RuntimeError(f"the mock queued {queued}")
    time.sleep(1.0)
    before = rss_kib(a.pid)
    fds_before = fd_count(a.pid)
    log(f"{prefix}: opening {a.streams} streams (server VmRSS {before} KiB)")
    held_n, t_held, during, fds, results, t_done = asyncio.run(hold_main(a, convs))
    time.sleep(1.0)
    after = rss_kib(a.pid)
    json_call(mock, "POST", "/_mock/reset")
    emit(f"{prefix}_streams", a.streams)
    emit(f"{prefix}_held", held_n)
    emit(f"{prefix}_all_open_s", f"{t_held:.2f}")
    emit(f"{prefix}_done_s", f"{t_done:.2f}")
    emit(f"{prefix}_rss_before_kib", before)
    emit(f"{prefix}_rss_held_kib", during)
    emit(f"{prefix}_rss_after_kib", after)
    emit(f"{prefix}_fds_before", fds_before)
    emit(f"{prefix}_fds_held", fds)
    emit(f"{prefix}_kib_per_stream", f"{(during - before) / max(1, held_n):.1f}")
    for outcome in ("ended", "error", "eof", "timeout", "oserror"):
        emit(f"{prefix}_{outcome}", sum(1 for r in results if r == outcome))


def run_hold(a):
    """Round 1 measures; round 2 (the same again) shows whether the memory of round 1 is reused."""
    srv, mock = Conn(a.server), Conn(a.mock)
    for r in range(a.rounds):
        hold_round(a, srv, mock, "hold" if r == 0 else f"hold{r + 1}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("ttfb", "hold"))
    p.add_argument("--server", type=int, required=True)
    p.add_argument("--mock", type=int, required=True)
    p.add_argument("--handle", required=True)
    p.add_argument("--iterations", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--deadline", type=float, default=300.0, help="seconds for the ttfb iterations")
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--hold-ms", type=int, default=15000)
    p.add_argument("--pid", type=int)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--raw", help="ttfb: a CSV of every iteration's times (ns)")
    a = p.parse_args()
    if a.mode == "ttfb":
        run_ttfb(a)
    else:
        if a.pid is None:
            p.error("hold needs --pid")
        run_hold(a)


if __name__ == "__main__":
    main()
