"""The chat's load figures (issue 17), run by scripts/bench-chat.sh against a `devopstrack up` it started.

Three figures, printed next to their targets (met / MISSED) and written as JSON to --out:

1. The bot's answer latency for read intents with the rule parser: POST /api/v1/chat/rooms/general/messages, which
   answers with the stored message and the bot's replies, timed around the whole request. Requests go one at a
   time (latency, not throughput), before any socket is open, round-robin over a few read phrasings.
2. Memory per connection: resident memory (Rss less LazyFree) of the platform's process before and after opening
   --sockets WebSockets (each authenticated and subscribed to `room:general`), divided by their number; and the
   growth over the second half of them alone.
3. Fan-out latency: a message sent with `chat.send` on one of the sockets, until it is in the receive queue of each
   of the sockets (the kernel's receive timestamp, SO_TIMESTAMPNS): that is what the server delivered, whatever this
   client's own speed. The time the client itself read it is reported beside it, with the client's CPU, so a slow
   client shows. One message at a time: the next is sent once the previous one and the bot's reply to it have reached
   every socket.

The chat allows 10 messages a minute per person (chat/app/limiter.rs): every message here is sent by a different
bench user until that user has sent 10, so the limit is never hit (users are viewers created through the admin API;
a refusal would fail the run, not be timed). The sockets are spread over the fan-out users; the gateway's socket
caps per user and per address (defences against one client holding many sockets) are raised by the calling script.

The client is one asyncio loop on epoll without per-socket tasks: each socket is a reader callback that does one
recvmsg, feeds the bytes to the `websockets` sans-I/O protocol (which also answers the server's pings) and parses the
JSON of whole text frames.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import socket
import struct
import sys
import time
from collections import deque
from urllib.parse import urlsplit

import httpx
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from tables import print_table, verdict

# Linux: SO_TIMESTAMPNS (and its control message SCM_TIMESTAMPNS) is 35; Python's socket module does not name it.
SO_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("@qq")
ANCILLARY = socket.CMSG_SPACE(TIMESPEC.size)

CHAT_MESSAGE = b'{"type":"chat.message",'
EVENT_ID = re.compile(rb'"eventId":([0-9]+)')
CLIENT_MSG_ID = re.compile(rb'"clientMsgId":"([!-~]*?)"')

PASSWORD = "bench-chat-password-123"
MESSAGES_PER_USER = 10  # the chat's limit per person and minute
ROOM = "general"

# Read intents with the rule parser; each phrasing is checked through /api/v1/chat/parse first.
READS = [
    ("status", "status_overview"),
    ("status of api", "project_status"),
    ("show me the failing pipelines", "failing_pipelines"),
    ("dora for api last 7 days", "dora_summary"),
    ("who deployed api?", "who_deployed"),
]

FANOUT_P99_MS = 25.0
READ_P99_MS = 50.0


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def rss_kb(pid: int) -> int:
    """Resident memory the process holds: Rss less LazyFree, pages an allocator handed back with MADV_FREE, which
    stay resident until the kernel needs them and would otherwise count as used."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            name, _, value = line.partition(":")
            if name in ("Rss", "LazyFree"):
                fields[name] = int(value.split()[0])
    if "Rss" not in fields:
        raise RuntimeError(f"no Rss for pid {pid}")
    return fields["Rss"] - fields.get("LazyFree", 0)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (it and its threads)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Failure(Exception):
    """The run cannot give a figure (a refusal, a lost message): the script exits non-zero."""


class Socket:
    """One WebSocket, driven by the event loop's reader callback."""

    def __init__(self, bench: "Bench", index: int, sock: socket.socket):
        self.bench = bench
        self.index = index
        self.sock = sock
        self.proto = ClientProtocol(parse_uri(bench.ws_url), max_size=1 << 20)
        self.waiting: dict[str, deque[asyncio.Future]] = {}
        self.handshake: asyncio.Future = bench.loop.create_future()
        self.last_event = 0
        self.pending_out = b""
        self.closed = False

    # -- writing ------------------------------------------------------------------------------------------------------
    def flush(self) -> None:
        data = self.pending_out + b"".join(self.proto.data_to_send())
        self.pending_out = b""
        if not data or self.closed:
            return
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as e:
            self.lost(f"send failed: {e}")
            return
        if sent < len(data):
            self.pending_out = data[sent:]
            self.bench.loop.add_writer(self.sock.fileno(), self.writable)

    def writable(self) -> None:
        self.bench.loop.remove_writer(self.sock.fileno())
        self.flush()

    def send_json(self, message: dict) -> None:
        self.proto.send_text(json.dumps(message).encode())
        self.flush()

    def expect(self, kind: str) -> asyncio.Future:
        future = self.bench.loop.create_future()
        self.waiting.setdefault(kind, deque()).append(future)
        return future

    # -- reading ------------------------------------------------------------------------------------------------------
    def readable(self) -> None:
        try:
            data, ancillary, _, _ = self.sock.recvmsg(1 << 18, ANCILLARY)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.lost(f"recv failed: {e}")
            return
        seen_ns = time.time_ns()
        arrived_ns = seen_ns
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= TIMESPEC.size:
                seconds, nanos = TIMESPEC.unpack_from(payload)
                arrived_ns = seconds * 1_000_000_000 + nanos
        if not data:
            self.proto.receive_eof()
            self.lost("the server closed the connection")
            return
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if isinstance(event, Response):
                if self.proto.handshake_exc is not None:
                    self.handshake.set_exception(Failure(f"handshake refused: {self.proto.handshake_exc}"))
                else:
                    self.handshake.set_result(None)
            elif isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    if not event.fin:
                        self.lost("the server fragmented a message (this client reads whole ones)")
                        return
                    self.on_frame(event.data, arrived_ns, seen_ns)
                elif event.opcode is Opcode.CLOSE:
                    self.lost(f"closed by the server: {self.proto.close_code} {self.proto.close_reason}")
                    return
        self.flush()

    def on_frame(self, data: bytes, arrived_ns: int, seen_ns: int) -> None:
        # The fan-out's frames (two per message and socket) skip json.loads: the first `"eventId":` and
        # `"clientMsgId":"` of a chat.message are the message's own (MessageBody's field order; a quote inside the
        # text is escaped, so the text cannot fake them). Anything else is parsed in full.
        if data.startswith(CHAT_MESSAGE):
            event_id = EVENT_ID.search(data)
            if event_id:
                self.last_event = max(self.last_event, int(event_id.group(1)))
                marker = CLIENT_MSG_ID.search(data, event_id.end())
                if marker and marker.start() < data.find(b'"text":', event_id.end()):
                    self.bench.arrived(marker.group(1).decode(), arrived_ns, seen_ns)
                return
        self.on_message(json.loads(data), arrived_ns, seen_ns)

    def on_message(self, message: dict, arrived_ns: int, seen_ns: int) -> None:
        kind = message.get("type")
        if kind == "chat.message":
            body = message["message"]
            self.last_event = max(self.last_event, body["eventId"])
            marker = body.get("clientMsgId")
            if marker is not None:
                self.bench.arrived(marker, arrived_ns, seen_ns)
            return
        if kind == "error":
            # At most one request is outstanding per socket: the error answers it.
            queue = next((q for q in self.waiting.values() if q), None)
            if queue is None:
                self.bench.lost.append(f"socket {self.index}: unexpected error {message.get('message')!r}")
                return
            future = queue.popleft()
            if not future.done():
                future.set_exception(Failure(f"socket {self.index}: {message.get('message')}"))
            return
        queue = self.waiting.get(kind)
        if queue:
            future = queue.popleft()
            if not future.done():
                future.set_result(message)

    def lost(self, why: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.bench.lost.append(f"socket {self.index}: {why}")
        self.detach()
        failure = Failure(f"socket {self.index}: {why}")
        if not self.handshake.done():
            self.handshake.set_exception(failure)
        for queue in self.waiting.values():
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_exception(failure)

    def detach(self) -> None:
        loop = self.bench.loop
        loop.remove_reader(self.sock.fileno())
        loop.remove_writer(self.sock.fileno())

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.proto.send_close(1000, "bench done")
            self.sock.send(b"".join(self.proto.data_to_send()))
        except OSError:
            pass
        self.detach()
        self.sock.close()


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.loop = asyncio.get_running_loop()
        base = urlsplit(args.base)
        self.host, self.port = base.hostname, base.port
        self.ws_url = f"ws://{self.host}:{self.port}/api/v1/ws"
        self.http = httpx.AsyncClient(base_url=args.base, timeout=30.0)
        self.sockets: list[Socket] = []
        self.readers: list[str] = []
        self.lost: list[str] = []
        # clientMsgId of the message in flight -> arrival times (kernel, client) per socket, and its completion.
        self.marker: str | None = None
        self.arrivals: list[tuple[int, int]] = []
        self.all_arrived: asyncio.Event = asyncio.Event()
        self.results: dict = {"load_start": load()}

    # -- REST -----------------------------------------------------------------------------------------------------------
    async def call(self, method: str, path: str, token: str | None = None, body: dict | None = None,
                   ok: tuple[int, ...] = (200, 201)) -> dict:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.http.request(method, path, json=body, headers=headers)
        if response.status_code not in ok:
            raise Failure(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json() if response.content else {}

    async def login(self, email: str, password: str) -> str:
        answer = await self.call("POST", "/api/v1/auth/login", body={"email": email, "password": password})
        return answer["accessToken"]

    async def users(self, prefix: str, count: int, admin: str) -> list[str]:
        """Creates `count` viewers and returns their access tokens."""
        tokens = []
        for i in range(count):
            email = f"{prefix}-{i:03d}@bench.example.com"
            await self.call("POST", "/api/v1/users", admin,
                            {"email": email, "name": f"Bench {prefix} {i}", "role": "viewer", "password": PASSWORD})
            tokens.append(await self.login(email, PASSWORD))
        return tokens

    async def seed(self, admin: str) -> None:
        """A project `api` with two environments and a failed and a succeeded run, so the reads have data."""
        await self.call("POST", "/api/v1/projects", admin, {
            "slug": "api", "name": "API", "environments": [{"name": "staging"}, {"name": "production"}]})
        for fail_rate in (1, 0):
            await self.call("POST", "/api/v1/pipelines", admin, {
                "project": "api",
                "stages": [{"name": "build", "jobs": [
                    {"name": "bench", "params": {"durationMs": 0, "failRate": fail_rate}}]}]})

    # -- 1. read intents --------------------------------------------------------------------------------------------
    async def reads(self, admin: str) -> None:
        """Times the bot's answers to read intents (the users exist already)."""
        n = self.args.reads
        for text, intent in READS:
            parsed = await self.call("POST", "/api/v1/chat/parse", admin, {"text": text, "room": ROOM})
            if parsed.get("intent") != intent or parsed.get("parsedBy") != "rules" or parsed.get("missing"):
                raise Failure(f"{text!r} parses as {parsed}, expected {intent} by the rules with nothing missing")
        warmup = len(READS)
        tokens = self.readers
        latencies: dict[str, list[float]] = {text: [] for text, _ in READS}
        started_cpu = time.process_time()
        started = time.perf_counter()
        for i in range(warmup + n):
            text, _ = READS[i % len(READS)]
            token = tokens[i // MESSAGES_PER_USER]
            body = {"clientMsgId": f"read-{i}", "text": text}
            t0 = time.perf_counter()
            posted = await self.call("POST", f"/api/v1/chat/rooms/{ROOM}/messages", token, body, ok=(201,))
            elapsed = (time.perf_counter() - t0) * 1000
            replies = posted.get("replies") or []
            kinds = [(r.get("payload") or {}).get("kind") for r in replies]
            if not replies or posted.get("action") or any(k in ("clarify", "refused") for k in kinds):
                raise Failure(f"{text!r} was not answered as a read: {posted}")
            if i >= warmup:
                latencies[text].append(elapsed)
        wall = time.perf_counter() - started
        every = [x for xs in latencies.values() for x in xs]
        self.results["reads"] = {
            "count": len(every),
            "users": len(tokens),
            "p50_ms": percentile(every, 50),
            "p99_ms": percentile(every, 99),
            "max_ms": max(every),
            "by_phrase": {t: {"p50_ms": percentile(xs, 50), "p99_ms": percentile(xs, 99)} for t, xs in latencies.items()},
            "client_cpu_pct": 100 * (time.process_time() - started_cpu) / wall,
            "load": load(),
        }

    # -- 2. sockets and memory ---------------------------------------------------------------------------------------
    async def open_socket(self, index: int, token: str) -> Socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await self.loop.sock_connect(sock, (self.host, self.port))
        ws = Socket(self, index, sock)
        self.loop.add_reader(sock.fileno(), ws.readable)
        ws.proto.send_request(ws.proto.connect())
        ws.flush()
        await ws.handshake
        answer = ws.expect("authenticated")
        ws.send_json({"type": "auth", "token": token})
        await answer
        answer = ws.expect("subscribed")
        ws.send_json({"type": "subscribe", "topics": [f"room:{ROOM}"]})
        await answer
        return ws

    async def open_sockets(self, tokens: list[str], first: int, count: int) -> None:
        gate = asyncio.Semaphore(32)

        async def one(i: int) -> Socket:
            async with gate:
                return await asyncio.wait_for(self.open_socket(i, tokens[i % len(tokens)]), 30)

        started = time.perf_counter()
        self.sockets += list(await asyncio.gather(*(one(i) for i in range(first, first + count))))
        self.results["sockets_open_s"] = self.results.get("sockets_open_s", 0) + time.perf_counter() - started

    async def settled_rss(self) -> int:
        """Resident memory once it has moved less than 256 KB for 3 s, read no sooner than 15 s (at most 30 s): after
        the reads the platform holds ~20 MB more (the users' Argon2id buffers) for 2 to 10 s before mimalloc purges
        it, depending on when the platform next allocates."""
        last, still = rss_kb(self.args.pid), 0
        for tick in range(60):
            await asyncio.sleep(0.5)
            now = rss_kb(self.args.pid)
            still = still + 1 if abs(now - last) < 256 else 0
            last = now
            if still >= 6 and tick >= 29:
                break
        return last

    # -- 3. fan-out ----------------------------------------------------------------------------------------------------
    def arrived(self, marker: str, arrived_ns: int, seen_ns: int) -> None:
        if marker != self.marker:
            return
        self.arrivals.append((arrived_ns, seen_ns))
        if len(self.arrivals) == len(self.sockets):
            self.all_arrived.set()

    async def fan_out(self, poster_count: int) -> None:
        n_sockets = len(self.sockets)
        warmup = self.args.fanout_warmup
        total = warmup + self.args.messages
        kernel: list[float] = []
        client: list[float] = []
        last_arrivals: list[float] = []
        missing = 0
        started_cpu = time.process_time()
        server_cpu = cpu_seconds(self.args.pid)
        started = time.perf_counter()
        for k in range(total):
            # Socket i belongs to poster i % poster_count: socket u posts for poster u, 10 messages each.
            poster = self.sockets[(k // MESSAGES_PER_USER) % poster_count]
            marker = f"fanout-{k}"
            self.marker, self.arrivals = marker, []
            self.all_arrived.clear()
            sent = poster.expect("chat.sent")
            t0 = time.time_ns()
            poster.send_json({"type": "chat.send", "room": ROOM, "clientMsgId": marker, "text": f"bench fan-out {k}"})
            answer = await asyncio.wait_for(sent, 10)
            try:
                await asyncio.wait_for(self.all_arrived.wait(), 10)
            except asyncio.TimeoutError:
                pass
            if k >= warmup:
                missing += n_sockets - len(self.arrivals)
                kernel += [(a - t0) / 1e6 for a, _ in self.arrivals]
                client += [(s - t0) / 1e6 for _, s in self.arrivals]
                if self.arrivals:
                    last_arrivals.append((max(a for a, _ in self.arrivals) - t0) / 1e6)
            # The bot's reply fans out too: wait until every socket has it before the next message.
            reply = max((r["eventId"] for r in answer.get("replies", [])), default=0)
            deadline = time.monotonic() + 10
            while any(s.last_event < reply for s in self.sockets) and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            await asyncio.sleep(self.args.gap_ms / 1000)
        wall = time.perf_counter() - started
        if not kernel:
            raise Failure("no fan-out message reached any socket")
        self.results["fanout"] = {
            "messages": total - warmup,
            "sockets": n_sockets,
            "deliveries": len(kernel),
            "missing": missing,
            "p50_ms": percentile(kernel, 50),
            "p99_ms": percentile(kernel, 99),
            "max_ms": max(kernel),
            "last_socket_p50_ms": percentile(last_arrivals, 50),
            "client_seen_p50_ms": percentile(client, 50),
            "client_seen_p99_ms": percentile(client, 99),
            "client_cpu_pct": 100 * (time.process_time() - started_cpu) / wall,
            "server_cpu_pct": 100 * (cpu_seconds(self.args.pid) - server_cpu) / wall,
            "wall_s": wall,
            "load": load(),
        }

    async def run(self) -> None:
        admin = await self.login(self.args.admin_email, self.args.admin_password)
        await self.seed(admin)
        # Every user first: each creation and login hashes a password with Argon2id (19 MiB), whose memory the
        # allocator gives back only later; none of it may land between the two RSS readings.
        posters = math.ceil((self.args.fanout_warmup + self.args.messages) / MESSAGES_PER_USER)
        if self.args.sockets < posters:
            raise Failure(f"--sockets must be at least {posters} (one per posting user)")
        self.readers = await self.users("reader", math.ceil((self.args.reads + len(READS)) / MESSAGES_PER_USER), admin)
        tokens = await self.users("fanout", posters, admin)
        await self.reads(admin)

        # In two halves: memory the allocator kept from earlier work is reused by the first sockets, so the second
        # half's growth (the marginal cost) is printed beside the average over all of them.
        n, half = self.args.sockets, self.args.sockets // 2
        rss_before = await self.settled_rss()
        await self.open_sockets(tokens, 0, half)
        rss_half = await self.settled_rss()
        await self.open_sockets(tokens, half, n - half)
        rss_after = await self.settled_rss()
        self.results["memory"] = {
            "rss_before_mb": rss_before / 1024,
            "rss_half_mb": rss_half / 1024,
            "rss_after_mb": rss_after / 1024,
            "per_connection_kb": (rss_after - rss_before) / n,
            "second_half_per_connection_kb": (rss_after - rss_half) / (n - half),
            "sockets": len(self.sockets),
            "users": len(tokens),
        }
        await self.fan_out(posters)
        if self.lost:
            raise Failure(f"{len(self.lost)} sockets were lost, e.g. {self.lost[0]}")

    async def close(self) -> None:
        for ws in self.sockets:
            ws.close()
        await self.http.aclose()


def report(results: dict) -> None:
    reads, memory, fanout = results["reads"], results["memory"], results["fanout"]
    n = fanout["sockets"]
    rows = []
    rows.append((f"fan-out, {n} sockets in one room (server -> receive queue)",
                 f"p50 {fanout['p50_ms']:.1f} ms, p99 {fanout['p99_ms']:.1f} ms", f"p99 <= {FANOUT_P99_MS:g} ms"
                 + ("" if n >= 1000 else " at 1,000"),
                 verdict(fanout["p99_ms"] <= FANOUT_P99_MS and not fanout["missing"])))
    rows.append(("fan-out as this client read it", f"p50 {fanout['client_seen_p50_ms']:.1f} ms, "
                 f"p99 {fanout['client_seen_p99_ms']:.1f} ms", "(client speed)", ""))
    rows.append(("memory per connection (RSS less LazyFree)", f"{memory['per_connection_kb']:.1f} KB "
                 f"({memory['rss_before_mb']:.0f} -> {memory['rss_after_mb']:.0f} MB)", "(recorded)", ""))
    rows.append(("  the second half of the sockets alone", f"{memory['second_half_per_connection_kb']:.1f} KB",
                 "(recorded)", ""))
    rows.append(("bot answer, read intents, rule parser", f"p50 {reads['p50_ms']:.1f} ms, p99 {reads['p99_ms']:.1f} ms",
                 f"p99 <= {READ_P99_MS:g} ms", verdict(reads["p99_ms"] <= READ_P99_MS)))
    print_table(rows)
    print(f"  fan-out: {fanout['messages']} messages x {n} sockets = {fanout['deliveries']} deliveries, "
          f"{fanout['missing']} missing; slowest socket p50 {fanout['last_socket_p50_ms']:.1f} ms; "
          f"{fanout['wall_s']:.1f} s")
    print(f"  CPU during the fan-out (100% = one core of {os.cpu_count()}): platform {fanout['server_cpu_pct']:.0f}%, "
          f"this client {fanout['client_cpu_pct']:.0f}%")
    print(f"  reads: {reads['count']} answers by {reads['users']} users, one at a time; per phrase p99: "
          + ", ".join(f"{t!r} {v['p99_ms']:.1f} ms" for t, v in reads["by_phrase"].items()))
    print(f"  load average (1, 5, 15 min): start {results['load_start']}, after the reads {reads['load']}, "
          f"after the fan-out {fanout['load']}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="http://127.0.0.1:PORT of the gateway")
    parser.add_argument("--pid", type=int, required=True, help="the platform's process (for RSS and CPU)")
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", required=True)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=100, help="fan-out messages timed")
    parser.add_argument("--fanout-warmup", type=int, default=5)
    parser.add_argument("--gap-ms", type=int, default=20, help="pause between fan-out messages")
    parser.add_argument("--reads", type=int, default=200, help="read-intent answers timed")
    parser.add_argument("--out", help="the figures as JSON")
    args = parser.parse_args()

    bench = Bench(args)
    try:
        await bench.run()
    except Failure as e:
        print(f"bench-chat: {e}", file=sys.stderr)
        return 1
    finally:
        await bench.close()
    report(bench.results)
    if args.out:
        with open(args.out, "w") as out:
            json.dump(bench.results, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
