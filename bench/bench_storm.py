"""Calls handled per second by one and by two uvicorn workers, and time to recover from Redis.

Run: .venv/bin/python bench/bench_storm.py [--rounds 3] [--calls 1500] [--connections 32]
     [--outages 3]

Starts a redis-server (append-only file on, fsync every second, as in production) on a
free loopback port and two copies of the real service side by side, each on its own
port and center, with signatures checked: ``uvicorn --workers 1`` and
``uvicorn --workers 2``. Each has 300 pool seats that wrap up at once, so the service,
not the seats, limits the rate.

Calls: a load generator in its own process (asyncio streams, keep-alive connections,
uvloop when installed) plays Twilio for whole call journeys, each on one connection:
``/voice/incoming`` (a seat is dialed), the seat's ``/voice/seat-answered``, the dial's
``/voice/dial-done`` and the final ``/voice/status``: four signed webhooks and four Lua
scripts a call. Rounds alternate the order of the two services; the figures are
medians over the rounds, with the CPU each process used (from /proc), since on a
small machine the client, Redis and the workers share the same cores.

Recovery: Redis is shut down while the two-worker service runs, left down for a second
(webhooks answer the apology meanwhile), and started again on the same port and folder.
It reports the time from Redis answering PING to the first webhook served from Redis,
to ten in a row on fresh connections (so both workers), and to the seat API answering 200.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
import zlib
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.auth import seat_token  # noqa: E402
from ivr.config import load  # noqa: E402
from ivr.settings import DEV_SEAT_SECRET  # noqa: E402
from ivr.telephony.signature import SignatureChecker  # noqa: E402
from tests.faults.servers import RedisServer, Uvicorn, redis_ping, service_env  # noqa: E402
from tests.faults.storm import write_storm_config  # noqa: E402

TOKEN = "bench-storm-token-0123456789"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SEATS = 300


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc/PID/stat); 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# ---------------------------------------------------------------- load generator (own process)


class Conn:
    """One keep-alive HTTP/1.1 connection that posts signed webhooks."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int,
                 checker: SignatureChecker, base: str) -> None:
        self.reader, self.writer, self.port = reader, writer, port
        self.checker, self.base = checker, base

    async def post(self, url: str, params: dict[str, str]) -> tuple[int, bytes]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = urlencode(params).encode()
        sig = self.checker.sign(self.base + path, params)
        self.writer.write((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                           "Content-Type: application/x-www-form-urlencoded\r\n"
                           f"X-Twilio-Signature: {sig}\r\nContent-Length: {len(body)}\r\n\r\n"
                           ).encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        data = await self.reader.readexactly(length) if length else b""
        return int(head[9:12]), data


async def journey(conn: Conn, sid: str, caller: str) -> str:
    """One call from arrival to its final status; returns '' or what went wrong."""
    base = {"CallSid": sid, "AccountSid": "AC" + "b" * 32, "From": caller, "To": "12315",
            "Direction": "inbound"}
    status, body = await conn.post("/voice/incoming", {**base, "CallStatus": "ringing"})
    for _ in range(200):
        if status != 200:
            return f"incoming {status}"
        root = ET.fromstring(body)
        dial = root.find("Dial")
        noun = next(iter(dial), None) if dial is not None else None
        if dial is not None and noun is not None and noun.get("statusCallback"):
            break
        redirect = root.find("Redirect")
        if redirect is None or not redirect.text:
            return "neither a dial nor a hold loop: " + body[:120].decode(errors="replace")
        await asyncio.sleep(0.01)
        status, body = await conn.post(redirect.text, {**base, "CallStatus": "in-progress"})
    else:
        return "no seat within 200 hold loops"
    assert dial is not None
    assert noun is not None
    status, _ = await conn.post(noun.get("statusCallback", ""), {
        "CallSid": "CB" + sid[2:], "ParentCallSid": sid, "CallStatus": "in-progress"})
    if status != 200:
        return f"seat-answered {status}"
    status, body = await conn.post(dial.get("action", ""), {
        **base, "CallStatus": "in-progress", "DialCallStatus": "completed", "DialCallDuration": "1"})
    if status != 200 or b"Hangup" not in body:
        return f"dial-done {status}"
    status, _ = await conn.post("/voice/status", {**base, "CallStatus": "completed"})
    return "" if status == 200 else f"status {status}"


async def _storm(port: int, conns: int, n: int, prefix: str, per_conn: int) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    checker = SignatureChecker(TOKEN, base)
    it = iter(range(n))
    errors: list[str] = []

    async def connect() -> Conn:
        return Conn(*await asyncio.open_connection("127.0.0.1", port), port, checker, base)

    async def worker() -> None:
        # a fresh connection every ``per_conn`` calls, as Twilio opens new ones: with one
        # listening socket shared by the workers, the kernel spreads connections, not requests
        conn = await connect()
        done = 0
        for i in it:
            if done and done % per_conn == 0:
                conn.writer.close()
                conn = await connect()
            # every call from its own number: the per-number robocall limit stays out of it
            err = await journey(conn, f"CA{prefix}{i:08d}", f"+86{zlib.crc32(f'{prefix}/{i}'.encode()):011d}")
            done += 1
            if err:
                errors.append(err)
        conn.writer.close()

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"n": n, "elapsed": elapsed, "errors": errors[:5], "n_errors": len(errors), "client_cpu": cpu}


def client_main(conn: Connection) -> None:
    """Run storms sent over ``conn`` until told to stop."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    while True:
        msg = conn.recv()
        if msg is None:
            return
        conn.send(asyncio.run(_storm(*msg)))


# ---------------------------------------------------------------- driver


class Service:
    """One copy of the service under uvicorn, with its own center."""

    def __init__(self, redis: RedisServer, workers: int, tmp: Path, cfg_dir: Path) -> None:
        self.workers = workers
        self.uv = Uvicorn(workers=workers, logdir=tmp)
        self.uv.env = service_env(
            redis_url=redis.url, center=f"bench{workers}", public_base_url=self.uv.base,
            auth_token=TOKEN, data_dir=tmp / f"data{workers}", IVR_CONFIG_DIR=str(cfg_dir),
            IVR_SURVEY="false", IVR_HOLD_LOOP_SECONDS="2")


def login_all(svc: Service) -> None:
    for i in range(SEATS):
        seat = f"st{i:03d}"
        req = urllib.request.Request(f"{svc.uv.base}/api/seats/{seat}/login", method="POST", headers={
            "Authorization": "Bearer " + seat_token(DEV_SEAT_SECRET, seat)})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200


def phase(pipe: Connection, svc: Service, redis: RedisServer, n: int, conns: int,
          prefix: str, per_conn: int) -> dict[str, Any]:
    assert redis.proc is not None
    pids = svc.uv.pids()[1:] or svc.uv.pids()
    s0, r0 = [cpu_seconds(p) for p in pids], cpu_seconds(redis.proc.pid)
    pipe.send((svc.uv.port, conns, n, prefix, per_conn))
    res: dict[str, Any] = pipe.recv()
    split = [cpu_seconds(p) - c for p, c in zip(pids, s0, strict=True)]
    res["server_cpu"] = sum(split)
    res["split"] = [x / max(1e-9, sum(split)) for x in split]
    res["redis_cpu"] = cpu_seconds(redis.proc.pid) - r0
    res["cps"] = res["n"] / res["elapsed"]
    if res["n_errors"]:
        print(f"  {res['n_errors']} calls went wrong, e.g. {res['errors']}")
    return res


def show(workers: int, r: dict[str, Any]) -> str:
    el = r["elapsed"]
    return (f"{workers} worker{'s' if workers > 1 else ' '} {r['cps']:7.0f} calls/s {4 * r['cps']:7.0f} req/s"
            f"  cpu% workers {100 * r['server_cpu'] / el:4.0f} redis {100 * r['redis_cpu'] / el:3.0f} "
            f"client {100 * r['client_cpu'] / el:3.0f}  "
            f"workers' cpu {1e3 * r['server_cpu'] / r['n']:5.2f} ms/call"
            f"  split {'/'.join(f'{100 * x:.0f}' for x in r['split'])}%")


def probe(base: str, sid: str) -> str:
    """One signed hold-loop webhook on a fresh connection: 'apology', 'ok' or 'error'."""
    checker = SignatureChecker(TOKEN, base)
    params = {"CallSid": sid, "CallStatus": "in-progress"}
    data = urlencode(params).encode()
    req = urllib.request.Request(base + "/voice/wait", data=data, headers={
        "X-Twilio-Signature": checker.sign(base + "/voice/wait", params),
        "Content-Type": "application/x-www-form-urlencoded", "Connection": "close"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            body = r.read()
    except (urllib.error.URLError, OSError):
        return "error"
    return "apology" if b"<Dial>" in body and b"statusCallback" not in body else "ok"


def seat_ok(base: str) -> bool:
    req = urllib.request.Request(base + "/api/seats/st000", headers={
        "Authorization": "Bearer " + seat_token(DEV_SEAT_SECRET, "st000")})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def recover(svc: Service, redis: RedisServer) -> dict[str, float]:
    """Shut Redis down for a second, start it again; time the service's recovery."""
    base = svc.uv.base
    assert probe(base, "CArecover") == "ok"
    redis.shutdown()
    down = time.perf_counter()
    apologies = 0
    while time.perf_counter() - down < 1.0:
        apologies += probe(base, "CArecover") == "apology"
        time.sleep(0.05)
    assert apologies > 0, "webhooks should answer the apology while Redis is down"
    redis.start()
    while not redis_ping(redis.port):
        time.sleep(0.001)
    t0 = time.perf_counter()
    first = in_a_row = seat = 0.0
    streak = 0
    while time.perf_counter() - t0 < 20:
        now = time.perf_counter() - t0
        if probe(base, "CArecover") == "ok":
            first = first or now
            streak += 1
            if streak >= 10 and not in_a_row:
                in_a_row = now
        else:
            streak = 0
        if not seat and seat_ok(base):
            seat = time.perf_counter() - t0
        if in_a_row and seat:
            break
        time.sleep(0.005)
    return {"first": first, "ten": in_a_row, "seat": seat}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--calls", type=int, default=1500, help="calls per phase")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--per-connection", type=int, default=5, help="calls on one connection")
    ap.add_argument("--outages", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-storm-"))
    cfg_dir = write_storm_config(load(ROOT), tmp / "config", seats=SEATS, wrapup_seconds=0)
    redis = RedisServer(tmp / "redis", appendonly=True, appendfsync="everysec").start()
    services = [Service(redis, 1, tmp, cfg_dir), Service(redis, 2, tmp, cfg_dir)]
    ctx = mp.get_context("spawn")
    pipe, child = ctx.Pipe()
    client = ctx.Process(target=client_main, args=(child,), daemon=True)
    try:
        for s in services:
            s.uv.start()
            login_all(s)
        client.start()
        print(f"{os.cpu_count()} CPUs; redis-server with appendonly yes, appendfsync everysec; "
              f"{SEATS} seats, wrap-up 0 s; {args.calls} calls a phase, {args.connections} connections "
              f"at once, a new one every {args.per_connection} calls; 4 webhooks a call")
        for s in services:  # warm-up, not counted
            phase(pipe, s, redis, 300, args.connections, f"w{s.workers}", args.per_connection)
        results: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
        for i in range(args.rounds):
            order = services if i % 2 == 0 else services[::-1]
            for s in order:
                r = phase(pipe, s, redis, args.calls, args.connections, f"r{i}w{s.workers}",
                          args.per_connection)
                results[s.workers].append(r)
                print(f"round {i + 1}  {show(s.workers, r)}")
        wrong = sum(r["n_errors"] for rs in results.values() for r in rs)
        if wrong:
            sys.exit(f"{wrong} calls went wrong: the figures above are not valid")
        med = statistics.median
        one, two = med(r["cps"] for r in results[1]), med(r["cps"] for r in results[2])
        print(f"\nmedian calls/s: 1 worker {one:.0f}, 2 workers {two:.0f}; ratio 2/1 = {two / one:.2f}")
        outs = [recover(services[1], redis) for _ in range(args.outages)]
        for k, o in enumerate(outs):
            print(f"outage {k + 1}: first webhook from Redis {1e3 * o['first']:.0f} ms after PING, ten in a "
                  f"row {1e3 * o['ten']:.0f} ms, seat API {1e3 * o['seat']:.0f} ms")
        print(f"time to recover after Redis returns (median of {args.outages}): first webhook served "
              f"{1e3 * med(o['first'] for o in outs):.0f} ms after PING; ten in a row on fresh connections "
              f"(probes ~8 ms apart) {1e3 * med(o['ten'] for o in outs):.0f} ms, worst "
              f"{1e3 * max(o['ten'] for o in outs):.0f} ms; "
              f"seat API {1e3 * med(o['seat'] for o in outs):.0f} ms")
    finally:
        if client.is_alive():
            pipe.send(None)
            client.join(5)
        for s in services:
            s.uv.stop()
        redis.stop()


if __name__ == "__main__":
    main()
