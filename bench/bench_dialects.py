"""Cost of the jambonz incoming webhook against the Twilio one, side by side in one run.

Run: .venv/bin/python bench/bench_dialects.py [--rounds 5] [--calls 400]

Starts a fresh redis-server and the real app in this process (``create_app``, lifespan
on, signatures checked in both dialects), driven through ``httpx.ASGITransport`` so the
figures are the service's own cost per request, without sockets. In alternating rounds
each dialect takes ``--calls`` new calls (unique call sid, To=12328, a dual line that
enqueues in the 12345 pool with every seat offline, so each call waits):

- Twilio: POST /voice/incoming, Twilio's full form body, ``X-Twilio-Signature``;
- jambonz: POST /jambonz/incoming, jambonz's JSON body, ``Jambonz-Signature``.

Request bodies and signatures are built before the clock starts. Prints the median
microseconds per request of each and the ratio jambonz/Twilio (goal: at most 1.2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from servers import start_redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from ivr.app import create_app  # noqa: E402
from ivr.settings import Settings  # noqa: E402
from ivr.telephony.jambonz_hooks import sign  # noqa: E402
from ivr.telephony.rest import RecordingCallControl  # noqa: E402
from ivr.telephony.signature import SignatureChecker  # noqa: E402

BASE = "https://ivr.bench"
TOKEN = "bench-auth-token-0123456789abcdef"
SECRET = "bench-jambonz-secret-0123456789abcdef"
LINE = "12328"


def twilio_requests(run: str, start: int, count: int) -> list[tuple[str, bytes, dict[str, str]]]:
    """Signed Twilio form posts, one new call each."""
    checker = SignatureChecker(TOKEN, BASE)
    out = []
    for n in range(start, start + count):
        caller = f"+86138{n:08d}"
        params = {"AccountSid": "AC" + "b" * 32, "ApiVersion": "2010-04-01",
                  "CallSid": f"CA{run}{n:024x}", "CallStatus": "ringing", "Called": LINE,
                  "Caller": caller, "CallerCountry": "CN", "Direction": "inbound",
                  "From": caller, "FromCountry": "CN", "To": LINE, "ToCountry": "CN"}
        url = f"{BASE}/voice/incoming"
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": checker.sign(url, params)}
        out.append((url, urlencode(params).encode(), headers))
    return out


def jambonz_requests(run: str, start: int, count: int) -> list[tuple[str, bytes, dict[str, str]]]:
    """Signed jambonz JSON posts (its call_hook payload), one new call each."""
    out = []
    now = int(time.time())
    for n in range(start, start + count):
        caller = f"+86138{n:08d}"
        payload = {"call_sid": f"{run}-{n:08x}-4f4e-9a3c-0123456789ab", "direction": "inbound",
                   "from": caller, "to": LINE, "call_id": f"{run}{n}@sbc", "sip_status": 100,
                   "call_status": "trying", "caller_name": "", "account_sid": "acc-" + run,
                   "application_sid": "app-" + run, "originating_sip_ip": "10.0.0.1",
                   "originating_sip_trunk_name": "carrier", "local_sip_address": "10.0.0.2:5060"}
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Jambonz-Signature": sign(SECRET, body, now)}
        out.append((f"{BASE}/jambonz/incoming", body, headers))
    return out


async def phase(client: httpx.AsyncClient, reqs: list[tuple[str, bytes, dict[str, str]]]) -> float:
    """Microseconds per request over ``reqs`` (each must answer 200)."""
    t0 = time.perf_counter()
    for url, body, headers in reqs:
        resp = await client.post(url, content=body, headers=headers)
        if resp.status_code != 200:
            sys.exit(f"{url}: HTTP {resp.status_code} {resp.text[:200]}")
    return (time.perf_counter() - t0) / len(reqs) * 1e6


async def main(rounds: int, calls: int) -> None:
    """Alternate the two dialects and print their medians and ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        redis, port = start_redis(Path(tmp))
        try:
            settings = Settings(redis_url=f"redis://127.0.0.1:{port}/0", center="bench",
                                data_dir=Path(tmp) / "data", config_dir=ROOT, public_base_url=BASE,
                                twilio_auth_token=TOKEN, jambonz_webhook_secret=SECRET,
                                archive=False, log_level="warning")
            app = create_app(settings, call_control=RecordingCallControl(), sweeper=False)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                    run = os.urandom(4).hex()
                    await phase(client, twilio_requests(run, 0, 50))  # warm up both paths
                    await phase(client, jambonz_requests(run, 0, 50))
                    tw, jb = [], []
                    for r in range(rounds):
                        start = 1000 + r * calls
                        t_reqs = twilio_requests(run, start, calls)
                        j_reqs = jambonz_requests(run, start, calls)
                        if r % 2:
                            jb.append(await phase(client, j_reqs))
                            tw.append(await phase(client, t_reqs))
                        else:
                            tw.append(await phase(client, t_reqs))
                            jb.append(await phase(client, j_reqs))
        finally:
            redis.terminate()
            redis.wait()
    t, j = statistics.median(tw), statistics.median(jb)
    print(f"incoming webhook, {rounds} rounds x {calls} new calls each, in-process (ASGI), "
          "Redis on loopback")
    print(f"  Twilio  /voice/incoming   {t:8.0f} us/request   (rounds: "
          + ", ".join(f"{x:.0f}" for x in tw) + ")")
    print(f"  jambonz /jambonz/incoming {j:8.0f} us/request   (rounds: "
          + ", ".join(f"{x:.0f}" for x in jb) + ")")
    print(f"  jambonz / Twilio = {j / t:.2f}  (goal <= 1.20)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=400)
    args = ap.parse_args()
    asyncio.run(main(args.rounds, args.calls))
