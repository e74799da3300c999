"""CPU per webhook of two source trees, side by side, with the app driven in-process.

Run: .venv/bin/python bench/bench_webhook_inprocess.py [--calls 2000] [--pairs 3] [--redis URL]
     --src OLD_CHECKOUT --src NEW_CHECKOUT

Each run is a child process that imports ``ivr`` from its tree, builds the app with
``create_app`` (signatures checked, the bench endpoints on, a scratch center on the given
Redis), and drives its ASGI callable directly with pre-signed requests, one at a time:
``/voice/min`` (form, one EVALSHA, fixed TwiML; and ``/voice/min-asgi``, the same as plain
ASGI, when the tree has it), ``/voice/incoming`` (new calls that queue)
and ``/voice/wait`` (a hold-loop turn for each of them). It prints the process CPU time per
request (client side included, which is the same small loop for every phase). Runs of the
two trees alternate so a shared machine's load falls on both alike. HTTP figures come from
``bench_webhook.py``; this one isolates the app's own CPU from sockets and uvicorn.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r'''
import asyncio, shutil, sys, tempfile, time, uuid
from pathlib import Path
from urllib.parse import urlencode
src, calls, redis_url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, src)
from redis.asyncio import Redis
from ivr.app import create_app
from ivr.settings import Settings
from ivr.store.keys import Keys
from ivr.telephony.signature import SignatureChecker
BASE, TOKEN = "https://ivr.test", "inprocess-bench-token-0123456789"

def params(sid, n, status):
    c = f"+86138{n:08d}"
    return {"AccountSid": "AC" + "b" * 32, "ApiVersion": "2010-04-01", "CallSid": sid,
            "CallStatus": status, "Called": "12328", "Caller": c, "Direction": "inbound",
            "From": c, "To": "12328", "CallerCountry": "CN", "FromCountry": "CN", "ToCountry": "CN"}

async def post(app, path, body, sig, status=200):
    p, _, q = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "https", "path": p, "raw_path": p.encode(), "query_string": q.encode(),
             "root_path": "", "client": ("127.0.0.1", 1), "server": ("ivr.test", 443),
             "headers": [(b"host", b"ivr.test"), (b"content-type", b"application/x-www-form-urlencoded"),
                         (b"x-twilio-signature", sig.encode()), (b"content-length", str(len(body)).encode())]}
    sent = []
    async def receive():
        if sent:
            await asyncio.sleep(3600)
        sent.append(1)
        return {"type": "http.request", "body": body, "more_body": False}
    out = []
    async def send(m):
        out.append(m)
    await app(scope, receive, send)
    assert out[0]["status"] == status, out

async def main():
    center = "inproc" + uuid.uuid4().hex[:6]
    data = Path(tempfile.mkdtemp(prefix="ivr-inproc-"))
    s = Settings(redis_url=redis_url, center=center, data_dir=data, config_dir=Path(src),
                 public_base_url=BASE, twilio_auth_token=TOKEN, bench_endpoint=True)
    app = create_app(s, sweeper=False)
    chk = SignatureChecker(TOKEN, BASE)
    def signed(path, sid, i, status):
        p = params(sid, i, status)
        return urlencode(p).encode(), chk.sign(BASE + path, p)
    wait = "/voice/wait?lang=zh-CN&loop=1&pos=1"
    async with app.router.lifespan_context(app):
        sids = [f"CA{uuid.uuid4().hex}" for _ in range(calls)]
        asgi = [("min-asgi", "/voice/min-asgi", "ringing")]
        try:  # newer trees only
            await post(app, "/voice/min-asgi", *signed("/voice/min-asgi", "CAprobe", 0, "ringing"))
        except AssertionError:
            asgi = []
        phases = [(name, path, [signed(path, x, i, status) for i, x in enumerate(sids)])
                  for name, path, status in (("min", "/voice/min", "ringing"), *asgi,
                                             ("incoming", "/voice/incoming", "ringing"),
                                             ("wait", wait, "in-progress"))]
        figures = []
        for name, path, reqs in phases:
            t = time.process_time()
            for body, sig in reqs:
                await post(app, path, body, sig)
            figures.append(f"{name} {(time.process_time() - t) / len(reqs) * 1e6:.0f}")
        r = Redis.from_url(redis_url)
        keys = [k async for k in r.scan_iter(match=Keys(center).pattern())]
        if keys:
            await r.delete(*keys)
        await r.aclose()
    shutil.rmtree(data, ignore_errors=True)
    print("  ".join(figures))

asyncio.run(main())
'''


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", type=Path, action="append", required=True, help="a checkout (twice)")
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = p.parse_args()
    print(f"us of CPU per request (in-process, sequential), {args.calls} calls per phase")
    for n in range(args.pairs):
        for src in args.src:
            out = subprocess.run([sys.executable, "-c", CHILD, str(src.resolve()), str(args.calls),
                                  args.redis], cwd=tempfile.gettempdir(), capture_output=True, text=True,
                                 check=False)
            line = out.stdout.strip().splitlines()[-1] if out.returncode == 0 else \
                f"FAILED: {out.stderr.strip()[-300:]}"
            print(f"pair {n + 1}  {src}:  {line}")


if __name__ == "__main__":
    main()
