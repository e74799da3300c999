"""Requests/second of the voice webhooks against a bare and a minimal one-script endpoint, side by side.

Run: .venv/bin/python bench/bench_webhook.py [--rounds 5] [--seconds 3] [--connections 24]
     [--profile] [--src CHECKOUT]

Starts a fresh redis-server on a free loopback port and the real service under uvicorn
(one worker, ``IVR_BENCH_ENDPOINT=true``, signatures checked, ``--log-level warning`` as
``ivr serve`` does with ``IVR_LOG_LEVEL=warning``). A load generator in a separate
process (asyncio streams on uvloop, keep-alive connections, request bytes built before
the clock starts) sends, in alternating rounds:

- POST /voice/bare: a fixed TwiML document, no parsing, no Redis;
- POST /voice/min: parses the form, runs one EVALSHA through redis-py asyncio, answers
  fixed TwiML (``ivr/web/benchmark.py``): the floor of any Redis-backed webhook;
- POST /voice/min-asgi: the same as plain ASGI, as the voice webhooks are served (skipped
  when the served tree has no such endpoint): the floor without FastAPI's per-request cost;
- POST /voice/wait: one hold-loop turn of each call the incoming phase just queued;
- POST /voice/incoming: each request a new call (unique CallSid, To=12328, a dual line
  that enqueues in the 12345 pool with skill 12328, every seat offline so it waits),
  with Twilio's full set of parameters, signed with ``twilio.request_validator``.

Both sides carry the same form body shape. Each round times one phase of each; the
figures are medians over the rounds. Per phase it also reads the CPU seconds the
server, Redis and the client used (/proc), so one can see which process is saturated,
and the ratios of the server's CPU per request, which a busy machine moves much less than
req/s (the server then gets only a share of a core).
``--profile`` then records one more incoming phase with py-spy (``pip install py-spy``)
and prints the hottest frames.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from servers import free_port, start_redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.telephony.signature import SignatureChecker  # noqa: E402

TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "b" * 32
LINE = "12328"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- processes



def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def start_service(redis_port: int, port: int, workdir: Path, src: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "IVR_BENCH_ENDPOINT": "true",
        "IVR_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "IVR_CENTER": "bench",
        "IVR_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "IVR_TWILIO_AUTH_TOKEN": TOKEN,
        "IVR_VALIDATE_SIGNATURES": "true",
        "IVR_LOG_LEVEL": "warning",
        "IVR_CONFIG_DIR": str(src),
        "IVR_DATA_DIR": str(workdir / "data"),
    }
    env.pop("IVR_TWILIO_ACCOUNT_SID", None)  # no REST calls to Twilio from a benchmark
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "ivr.asgi:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=src, env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / "uvicorn.log", "wb"))
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            log = (workdir / "uvicorn.log").read_text(errors="replace")[-3000:]
            sys.exit(f"the service exited:\n{log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("the service did not become healthy")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- requests

def call_params(sid: str, n: int) -> dict[str, str]:
    """The POST parameters Twilio sends for a new inbound call."""
    caller = f"+86138{n % 100000000:08d}"
    return {
        "AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "CallSid": sid,
        "CallStatus": "ringing", "CallToken": "%7B%22parentCallInfoToken%22%3A%22eyJ%22%7D",
        "Called": LINE, "CalledCity": "", "CalledCountry": "CN", "CalledState": "",
        "CalledZip": "", "Caller": caller, "CallerCity": "", "CallerCountry": "CN",
        "CallerState": "", "CallerZip": "", "Direction": "inbound", "From": caller,
        "FromCity": "", "FromCountry": "CN", "FromState": "", "FromZip": "", "To": LINE,
        "ToCity": "", "ToCountry": "CN", "ToState": "", "ToZip": "",
    }


class Requests:
    """Pre-built, signed HTTP/1.1 requests, each for a new CallSid."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.checker = SignatureChecker(TOKEN, self.base)
        self.n = 0
        self.run = os.urandom(4).hex()

    def sids(self, count: int) -> list[str]:
        """``count`` new CallSids."""
        out = []
        for _ in range(count):
            self.n += 1
            out.append(f"CA{self.run}{self.n:024x}")
        return out

    def build(self, path: str, count: int, sids: list[str] | None = None) -> list[bytes]:
        """Signed requests to ``path``: new calls, or the calls ``sids`` (a hold-loop turn)."""
        out = []
        for i, sid in enumerate(sids if sids is not None else self.sids(count)):
            params = call_params(sid, i)
            if sids is not None:
                params["CallStatus"] = "in-progress"
            sig = self.checker.sign(self.base + path, params)
            body = urlencode(params).encode()
            head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                    "User-Agent: TwilioProxy/1.1\r\nAccept: */*\r\n"
                    "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
                    f"X-Twilio-Signature: {sig}\r\nContent-Length: {len(body)}\r\n\r\n")
            out.append(head.encode() + body)
        return out


# ---------------------------------------------------------------- load generator (own process)

async def _load(port: int, conns: int, reqs: list[bytes], expect: bytes) -> dict[str, Any]:
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(conns)]
    lat: list[float] = []
    bad = [0]
    unexpected = [0]
    it = iter(reqs)

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        clock = time.perf_counter
        for req in it:
            t0 = clock()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            body = await reader.readexactly(length) if length else b""
            lat.append(clock() - t0)
            if head[9:12] != b"200":
                bad[0] += 1
            elif expect not in body:
                unexpected[0] += 1

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(r, w) for r, w in streams))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    for _, w in streams:
        w.close()
    return {"n": len(lat), "elapsed": elapsed, "lat": lat, "bad": bad[0],
            "unexpected": unexpected[0], "client_cpu": cpu}


def client_main(conn: Connection, port: int, conns: int) -> None:
    """Serve load phases sent over ``conn`` until told to stop."""
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    while True:
        msg = conn.recv()
        if msg is None:
            return
        reqs, expect = msg
        conn.send(asyncio.run(_load(port, conns, reqs, expect)))


# ---------------------------------------------------------------- driver

def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


class Bench:
    def __init__(self, args: argparse.Namespace, server: subprocess.Popen[bytes],
                 redis: subprocess.Popen[bytes], port: int) -> None:
        self.args = args
        self.server, self.redis = server, redis
        self.reqs = Requests(port)
        ctx = mp.get_context("spawn")
        self.pipe, child = ctx.Pipe()
        self.client = ctx.Process(target=client_main, args=(child, port, args.connections),
                                  daemon=True)
        self.client.start()

    def phase(self, reqs: list[bytes], expect: bytes) -> dict[str, Any]:
        self.pipe.send((reqs, expect))
        s0, r0 = cpu_seconds(self.server.pid), cpu_seconds(self.redis.pid)
        res: dict[str, Any] = self.pipe.recv()
        res["server_cpu"] = cpu_seconds(self.server.pid) - s0
        res["redis_cpu"] = cpu_seconds(self.redis.pid) - r0
        res["rps"] = res["n"] / res["elapsed"]
        return res

    def close(self) -> None:
        self.pipe.send(None)
        self.client.join(5)


def show(kind: str, r: dict[str, Any]) -> str:
    el = r["elapsed"]
    return (f"{kind:<9}{r['rps']:>8.0f} req/s  p50 {pct(r['lat'], .5) * 1e3:6.2f} ms  "
            f"p99 {pct(r['lat'], .99) * 1e3:6.2f} ms  cpu% server {100 * r['server_cpu'] / el:3.0f} "
            f"redis {100 * r['redis_cpu'] / el:3.0f} client {100 * r['client_cpu'] / el:3.0f}  "
            f"server {1e6 * r['server_cpu'] / r['n']:5.0f} us/req"
            + (f"  NON-200: {r['bad']}" if r["bad"] else "")
            + (f"  UNEXPECTED BODY: {r['unexpected']}" if r["unexpected"] else ""))


BARE_EXPECT = b"<Response>"
HOLD_EXPECT = b"<Redirect"  # a waiting caller's hold loop, not the apology


WAIT_PATH = "/voice/wait?lang=zh-CN&loop=1&pos=1"
MIN_EXPECT = b"<Redirect"
MIN_ASGI = "/voice/min-asgi"  # the same work as /voice/min as plain ASGI (newer trees only)


def run(args: argparse.Namespace, b: Bench) -> None:
    # warm-up (not counted): opens Redis connections, loads scripts, estimates each rate
    warm_b = b.phase(b.reqs.build("/voice/bare", 2000), BARE_EXPECT)
    warm_m = b.phase(b.reqs.build("/voice/min", 2000), MIN_EXPECT)
    warm_a = b.phase(b.reqs.build(MIN_ASGI, 2000), MIN_EXPECT)
    asgi = not warm_a["bad"] and not warm_a["unexpected"]
    kinds = ["bare", "min", *(["min-asgi"] if asgi else []), "incoming", "wait"]
    sids = b.reqs.sids(1000)
    warm_i = b.phase(b.reqs.build("/voice/incoming", 0, sids), HOLD_EXPECT)
    if warm_i["bad"] or warm_i["unexpected"]:
        sys.exit(f"the incoming webhook did not answer a hold loop: {show('incoming', warm_i)}")
    warm_w = b.phase(b.reqs.build(WAIT_PATH, 0, sids), HOLD_EXPECT)
    if warm_w["bad"] or warm_w["unexpected"]:
        sys.exit(f"the hold-loop turn did not answer a hold loop: {show('wait', warm_w)}")
    n_bare = max(2000, int(warm_b["rps"] * args.seconds))
    n_min = max(2000, int(warm_m["rps"] * args.seconds))
    n_inc = max(1000, int(warm_i["rps"] * args.seconds))
    print(f"warm-up: bare {warm_b['rps']:.0f}, min {warm_m['rps']:.0f}, incoming "
          f"{warm_i['rps']:.0f}, wait {warm_w['rps']:.0f} req/s; {args.rounds} rounds, "
          f"{args.connections} keep-alive connections")
    t = time.perf_counter()
    plan = []
    for _ in range(args.rounds):
        sids = b.reqs.sids(n_inc)
        plan.append({"bare": b.reqs.build("/voice/bare", n_bare),
                     "min": b.reqs.build("/voice/min", n_min),
                     **({"min-asgi": b.reqs.build(MIN_ASGI, n_min)} if asgi else {}),
                     "incoming": b.reqs.build("/voice/incoming", 0, sids),
                     "wait": b.reqs.build(WAIT_PATH, 0, sids)})  # the calls just queued
    print(f"pre-built and signed {sum(len(v) for p in plan for v in p.values())} requests in "
          f"{time.perf_counter() - t:.1f} s")
    expect = {"bare": BARE_EXPECT, "min": MIN_EXPECT, "min-asgi": MIN_EXPECT, "incoming": HOLD_EXPECT,
              "wait": HOLD_EXPECT}
    res: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    for i, reqs in enumerate(plan):
        # incoming always before wait (the hold-loop turns are for the calls it queued);
        # the baselines go first on even rounds and last on odd ones
        order = kinds if i % 2 == 0 else [*kinds[-2:], *reversed(kinds[:-2])]
        for kind in order:
            r = b.phase(reqs[kind], expect[kind])
            res[kind].append(r)
            print(f"round {i + 1} {show(kind, r)}")
    med = statistics.median
    print()
    print(f"{'':<9}{'req/s':>8}  {'p50 ms':>7}  {'p99 ms':>7}  {'server us/req':>13}   (medians of "
          f"{args.rounds} rounds)")
    for kind in kinds:
        rs = res[kind]
        print(f"{kind:<9}{med(r['rps'] for r in rs):>8.0f}  "
              f"{med(pct(r['lat'], .5) for r in rs) * 1e3:>7.2f}  "
              f"{med(pct(r['lat'], .99) for r in rs) * 1e3:>7.2f}  "
              f"{med(1e6 * r['server_cpu'] / r['n'] for r in rs):>13.0f}")

    def ratio(a: str, base: str, goal: float | None) -> None:
        per = [x["rps"] / y["rps"] for x, y in zip(res[a], res[base], strict=True)]
        whole = med(r["rps"] for r in res[a]) / med(r["rps"] for r in res[base])
        verdict = "" if goal is None else f"; goal >= {goal}: {'met' if whole >= goal else 'MISSED'}"
        print(f"ratio {a}/{base}: {whole:.2f} (median req/s); per round "
              f"{', '.join(f'{x:.2f}' for x in per)}{verdict}")

    ratio("min", "bare", None)
    ratio("incoming", "bare", None)
    ratio("incoming", "min", 0.8)
    ratio("wait", "min", 0.9)
    if asgi:
        ratio("incoming", "min-asgi", None)
        ratio("wait", "min-asgi", None)
    # on a loaded machine the server gets a share of a core, and req/s measures that share;
    # its CPU per request does not depend on it
    for a, base in (("incoming", "min"), ("wait", "min"), *((("incoming", "min-asgi"),
                                                             ("wait", "min-asgi")) if asgi else ())):
        cpu = {k: med(1e6 * r["server_cpu"] / r["n"] for r in res[k]) for k in (a, base)}
        print(f"server CPU per request {base}/{a}: {cpu[base] / cpu[a]:.2f} "
              f"({cpu[base]:.0f} / {cpu[a]:.0f} us)")
    if args.profile:
        profile(b, n_inc)


def profile(b: Bench, n: int) -> None:
    exe = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if not exe:
        print("--profile: py-spy not found on PATH (pip install py-spy)")
        return
    out = Path(tempfile.mkdtemp(prefix="bench-prof-")) / "incoming.txt"
    reqs = b.reqs.build("/voice/incoming", 2 * n)
    spy = subprocess.Popen([exe, "record", "--pid", str(b.server.pid), "--rate", "400", "--gil",
                            "--format", "raw", "--output", str(out), "--nonblocking"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    r = b.phase(reqs, HOLD_EXPECT)
    spy.send_signal(2)
    spy.wait(30)
    print(f"\nprofiled phase: {show('incoming', r)}")
    if not out.exists():
        print("py-spy wrote no profile (ptrace not permitted?)")
        return
    summarize(out)


def frame_name(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)``."""
    func, _, where = frame.partition(" (")
    return f"{func} ({where.split(':')[0].rsplit('/', 1)[-1]})" if where else func


def summarize(path: Path, top: int = 30) -> None:
    """Print inclusive and self sample shares of the hottest frames of a py-spy raw file."""
    total = 0
    incl: dict[str, int] = {}
    own: dict[str, int] = {}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [frame_name(f) for f in stack.split(";")]
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for name in set(frames):
            incl[name] = incl.get(name, 0) + n
    print(f"py-spy: {total} samples of the server process (raw file {path})")
    print("  inclusive")
    for name, n in sorted(incl.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * n / total:5.1f}%  {name}")
    print("  self")
    for name, n in sorted(own.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {100 * n / total:5.1f}%  {name}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0, help="target length of one phase")
    p.add_argument("--connections", type=int, default=24)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--src", type=Path, default=ROOT,
                   help="checkout whose ivr/ and config folders to serve (default: this one)")
    args = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    redis, rport = start_redis(workdir)
    server = None
    bench = None
    try:
        port = free_port()
        server = start_service(rport, port, workdir, args.src.resolve())
        print(f"service pid {server.pid} on :{port}, redis-server pid {redis.pid} on :{rport}, "
              f"{os.cpu_count()} cores")
        bench = Bench(args, server, redis, port)
        run(args, bench)
    finally:
        if bench:
            bench.close()
        if server:
            stop(server)
        stop(redis)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
