"""Issue 10 items 8, 9, 10 and 15 through the real service (``ivr serve``, production mode).

Each test talks HTTP to a real uvicorn started as documented, on the test Redis, and
reads the server's own log (its stderr, written through ``ivr.logs``):

- item 8: ``?token=`` is refused on admin and monitor JSON routes, taken only by the SSE
  stream and the dashboard page, and no token value ever reaches the log;
- item 9: a body over ``IVR_MAX_BODY_BYTES`` is cut as it streams (chunked, no
  Content-Length): 413, the upload stops early, the worker's memory stays flat, and an
  admin change over the limit is not applied;
- item 10: /docs, /redoc, /openapi.json and /metrics are closed in production unless the
  settings open them;
- item 15: numbers written ``%2B86...``, ``138 0013 8000`` or ``138-0013-8000`` are masked,
  also inside tracebacks.
"""

from __future__ import annotations

import json
import re
import select
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from ivr.app import create_app
from ivr.auth import seat_token
from ivr.settings import Settings
from ivr.store.keys import Keys
from tests.faults.servers import ROOT
from tests.security.conftest import PROD, PROD_SECRETS, IvrServe, clean_env

ADMIN_T = PROD_SECRETS["IVR_ADMIN_TOKEN"]
MONITOR_T = PROD_SECRETS["IVR_MONITOR_TOKEN"]
METRICS_T = PROD_SECRETS["IVR_METRICS_TOKEN"]
ADMIN = {"Authorization": f"Bearer {ADMIN_T}"}
MONITOR = {"Authorization": f"Bearer {MONITOR_T}"}
LIMIT = 256 * 1024  # IVR_MAX_BODY_BYTES by default
MIB = 1024 * 1024

# JSON routes of the admin and monitor APIs: a bearer header only, never ?token=
ADMIN_JSON = ["/api/lines", "/api/lines/12328", "/api/roster", "/api/queues", "/api/plan",
              "/api/audit", "/api/flows", "/api/targets"]
MONITOR_JSON = ["/api/metrics", "/api/metrics/history", "/api/alerts", "/api/staffing",
                "/api/reports", "/api/archive"]


def settings_env(redis_url: str, center: str, data: Path, **extra: str) -> dict[str, str]:
    """A production environment on the test Redis, with ``extra`` settings on top."""
    env = {**PROD, "IVR_REDIS_URL": redis_url, "IVR_CENTER": center,
           "IVR_CONFIG_DIR": str(ROOT), "IVR_DATA_DIR": str(data), "IVR_LOG_LEVEL": "info",
           **extra}
    return clean_env(**{k: v for k, v in env.items() if v != ""})


def drop_keys(redis_url: str, center: str) -> None:
    """Delete every key of a center."""
    r = redis.Redis.from_url(redis_url)
    keys = list(r.scan_iter(match=Keys(center).pattern(), count=1000))
    if keys:
        r.delete(*keys)
    r.close()


@pytest.fixture(scope="module")
def prod(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IvrServe]:
    """One ``ivr serve`` in production mode with every secret set, for the module."""
    center = "th1" + uuid.uuid4().hex[:8]
    tmp = tmp_path_factory.mktemp("prod")
    server = IvrServe(settings_env(redis_url, center, tmp / "data"), tmp)
    try:
        yield server.start()
    finally:
        server.stop()
        drop_keys(redis_url, center)


@pytest.fixture
def start(redis_url: str, tmp_path: Path) -> Iterator[Callable[..., IvrServe]]:
    """Starts further production servers with extra settings; stops them afterwards."""
    started: list[IvrServe] = []
    centers: list[str] = []

    def run(**extra: str) -> IvrServe:
        center = "th1" + uuid.uuid4().hex[:8]
        centers.append(center)
        data = tmp_path / f"data-{len(centers)}"
        server = IvrServe(settings_env(redis_url, center, data, **extra), tmp_path)
        started.append(server)
        return server

    yield run
    for server in started:
        server.stop()
    for center in centers:
        drop_keys(redis_url, center)


def windows(secret: str, n: int = 8) -> set[str]:
    """Every n-character piece of a secret."""
    return {secret[i:i + n] for i in range(len(secret) - n + 1)}


def leaked(text: str) -> list[str]:
    """Pieces of any production secret that appear in ``text``."""
    return sorted({w for s in PROD_SECRETS.values() for w in windows(s) if w in text})


def wait_for_log(server: IvrServe, needle: str, count: int = 1, timeout: float = 10) -> str:
    """The server's log once ``needle`` appears ``count`` times in it (flushed per record)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = server.log()
        if text.count(needle) >= count:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} not {count} times in the log: {server.log()[-3000:]}")


# ---------------------------------------------------------------- item 8: tokens in URLs


def test_query_tokens_are_refused_on_admin_and_monitor_json_routes(prod: IvrServe) -> None:
    with httpx.Client(base_url=prod.base, timeout=10) as c:
        for path in ADMIN_JSON + MONITOR_JSON:
            assert c.get(path, headers=ADMIN).status_code == 200, path  # the token is good
            resp = c.get(path, params={"token": ADMIN_T})
            assert resp.status_code == 401, (path, resp.status_code)
            assert ADMIN_T not in resp.text
        for path in MONITOR_JSON:
            assert c.get(path, headers=MONITOR).status_code == 200, path
            assert c.get(path, params={"token": MONITOR_T}).status_code == 401, path
        line = c.get("/api/lines/12328", headers=ADMIN)
        changed = {**line.json()["data"], "name": "changed through a query token"}
        put = c.put("/api/lines/12328", params={"token": ADMIN_T}, json=changed,
                    headers={"If-Match": line.headers["ETag"]})
        assert put.status_code == 401
        after = c.get("/api/lines/12328", headers=ADMIN)
        assert after.json()["data"] == line.json()["data"]
        assert after.headers["ETag"] == line.headers["ETag"]


QUERY_TOKEN_OK = {"/api/metrics/stream"}  # EventSource cannot send a header
PATH_VALUES = {"seat_id": "p01", "seat": "p01", "action": "login", "rid": "12328",
               "fid": "dual-number", "rev": "1"}


def api_operations() -> list[tuple[str, str]]:
    """(method, path) of every /api operation of the service, from its OpenAPI document."""
    app = create_app(Settings(config_dir=ROOT))  # nothing connects before the lifespan
    ops = [(method.upper(), path.format(**PATH_VALUES))
           for path, item in app.openapi()["paths"].items() if path.startswith("/api/")
           for method in item if path not in QUERY_TOKEN_OK]
    return [*ops, ("GET", "/metrics")]


def test_no_api_operation_takes_a_query_token(prod: IvrServe) -> None:
    ops = api_operations()
    assert len(ops) > 40
    assert ("PUT", "/api/plan") in ops
    seat = seat_token(PROD_SECRETS["IVR_SEAT_SECRET"], "p01")
    with httpx.Client(base_url=prod.base, timeout=10) as c:
        audit = c.get("/api/audit", headers=ADMIN).json()
        for method, path in ops:
            for token in (ADMIN_T, MONITOR_T, METRICS_T, seat):
                resp = c.request(method, path, params={"token": token},
                                 headers={"If-Match": '"1"', "If-None-Match": "*"})
                assert resp.status_code == 401, (method, path, resp.status_code, resp.text[:200])
        assert c.get("/api/audit", headers=ADMIN).json() == audit, "a query token changed config"


def test_the_stream_and_the_dashboard_take_a_query_token(prod: IvrServe) -> None:
    with httpx.Client(base_url=prod.base, timeout=10) as c:
        page = c.get("/dashboard", params={"token": MONITOR_T})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert c.get("/dashboard").status_code == 401
        assert c.get("/dashboard", params={"token": "x" * 40}).status_code == 401
        assert c.get("/api/metrics/stream").status_code == 401
        with c.stream("GET", "/api/metrics/stream",
                      params={"token": MONITOR_T, "interval": "0.2"}) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            seen = []
            for line in stream.iter_lines():
                seen.append(line)
                if line.startswith("data:"):
                    break
            assert "event: metrics" in seen, seen


def test_no_token_reaches_the_log_and_access_lines_mask_token(prod: IvrServe) -> None:
    with httpx.Client(base_url=prod.base, timeout=10) as c:
        for token in (ADMIN_T, MONITOR_T, METRICS_T):
            for path in ("/api/lines", "/api/metrics", "/dashboard", "/metrics", "/nowhere"):
                c.get(path, params={"token": token, "lang": "zh"})
                c.get(path, headers={"Authorization": f"Bearer {token}"})
        c.get("/api/metrics", params={"access_token": MONITOR_T})
        c.get("/api/metrics", headers={"Authorization": f"Bearer {MONITOR_T[:-1]}"})  # unknown
    text = wait_for_log(prod, "/nowhere?token=", 3)
    assert leaked(text) == [], "a token reached the server's log"
    access = [line for line in text.splitlines() if "token=" in line]
    assert len(access) >= 15, access[:5]
    assert all(re.search(r"token=\*\*\*(&| HTTP)", line) for line in access), access


# ---------------------------------------------------------------- item 9: the body limit


def chunked_upload(port: int, path: str, planned: int, extra_headers: str = "") -> tuple[int, bytes]:
    """POST ``planned`` bytes chunked (no Content-Length) until the server answers.

    Returns the bytes sent before the answer came (or all of them) and the answer's head.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setblocking(False)
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Transfer-Encoding: chunked\r\n{extra_headers}\r\n").encode()
    piece = 64 * 1024
    chunk = f"{piece:x}\r\n".encode() + b"CallSid=CAbig&Body=" + b"a" * (piece - 19) + b"\r\n"
    pending = head
    sent, answer = 0, b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock] if sent < planned else [], [], 1)
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                answer += data
                if b"\r\n\r\n" in answer:
                    break
            elif writable:
                if not pending:
                    pending = chunk if sent + piece < planned else chunk + b"0\r\n\r\n"
                try:
                    n = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    pending = b""
                    sent = planned
                    continue
                pending = pending[n:]
                sent += n
    finally:
        sock.close()
    return sent, answer


def test_a_chunked_webhook_upload_over_the_limit_is_cut_with_413(prod: IvrServe) -> None:
    planned = 64 * MIB
    before = prod.high_water_bytes()
    sent, answer = chunked_upload(prod.port, "/voice/incoming", planned)
    status = answer.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 413"), (status, sent)
    assert b"connection: close" in answer.lower()
    assert sent < 16 * MIB, f"the server read {sent / MIB:.1f} MiB of a body over {LIMIT} bytes"
    grew = prod.high_water_bytes() - before
    assert grew < 24 * MIB, f"the worker's peak memory grew by {grew / MIB:.1f} MiB"
    assert httpx.get(f"{prod.base}/healthz", timeout=5).status_code == 200
    assert " ERROR " not in prod.log()


def padded(doc: dict[str, object], size: int) -> bytes:
    """``doc`` as JSON padded with trailing spaces (still valid JSON) to ``size`` bytes."""
    raw = json.dumps(doc, ensure_ascii=False).encode()
    return raw + b" " * (size - len(raw))


def test_an_admin_put_just_over_the_limit_is_refused_and_not_applied(prod: IvrServe) -> None:
    with httpx.Client(base_url=prod.base, timeout=10) as c:
        line = c.get("/api/lines/12345", headers=ADMIN)
        assert line.status_code == 200, line.text
        changed = {**line.json()["data"], "name": "12345 renamed by an oversized PUT"}
        headers = {**ADMIN, "If-Match": line.headers["ETag"], "Content-Type": "application/json"}
        body = padded(changed, 263_000)  # the 263 KB, over the 256 KiB limit

        def stream() -> Iterator[bytes]:
            for i in range(0, len(body), 8192):
                yield body[i:i + 8192]

        chunked = c.put("/api/lines/12345", content=stream(), headers=headers)
        assert "content-length" not in chunked.request.headers
        assert chunked.status_code == 413, chunked.text[:300]
        declared = c.put("/api/lines/12345", content=body, headers=headers)
        assert declared.status_code == 413, declared.text[:300]
        after = c.get("/api/lines/12345", headers=ADMIN)
        assert after.json()["data"] == line.json()["data"], "an oversized change was applied"
        assert after.headers["ETag"] == line.headers["ETag"]
        # the same change under the limit is taken: the refusal was the size, nothing else
        small = c.put("/api/lines/12345", content=padded(changed, LIMIT - 10), headers=headers)
        assert small.status_code == 200, small.text[:300]
        assert c.get("/api/lines/12345", headers=ADMIN).json()["data"]["name"] == changed["name"]


# ---------------------------------------------------------------- item 10: docs and metrics

DOCS = ["/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"]


def test_docs_are_closed_and_metrics_need_their_token_in_production(prod: IvrServe) -> None:
    with httpx.Client(base_url=prod.base, timeout=10) as c:
        for path in DOCS:
            assert c.get(path).status_code == 404, path
            assert c.get(path, headers=ADMIN).status_code == 404, path
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers=ADMIN).status_code == 401  # its own token only
        assert c.get("/metrics", params={"token": METRICS_T}).status_code == 401
        scrape = c.get("/metrics", headers={"Authorization": f"Bearer {METRICS_T}"})
        assert scrape.status_code == 200
        assert "ivr_calls_offered" in scrape.text


def test_without_a_metrics_token_production_metrics_are_closed(start: Callable[..., IvrServe]) -> None:
    server = start(IVR_METRICS_TOKEN="").start()
    with httpx.Client(base_url=server.base, timeout=10) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers=ADMIN).status_code == 401
        for path in DOCS:
            assert c.get(path).status_code == 404, path


def test_the_settings_open_docs_and_metrics_in_production(start: Callable[..., IvrServe]) -> None:
    server = start(IVR_PUBLIC_DOCS="true", IVR_PUBLIC_METRICS="true").start()
    with httpx.Client(base_url=server.base, timeout=10) as c:
        for path in DOCS:
            assert c.get(path).status_code == 200, path
        assert "/voice/incoming" in c.get("/openapi.json").json()["paths"]
        scrape = c.get("/metrics")
        assert scrape.status_code == 200
        assert "ivr_calls_offered" in scrape.text
        assert c.get("/api/lines").status_code == 401  # nothing else opens


# ---------------------------------------------------------------- item 15: the log masker

SPELLINGS = {  # as written -> as it must appear in the log
    "%2B8613800138001": "%2B86138****8001",
    "138%200013%208002": "138****8002",
    "138-0013-8003": "138****8003",
}


def test_numbers_in_request_lines_are_masked_in_the_access_log(prod: IvrServe) -> None:
    query = "&".join(f"n{i}={v}" for i, v in enumerate(SPELLINGS))
    assert httpx.get(f"{prod.base}/healthz?{query}", timeout=5).status_code == 200
    text = wait_for_log(prod, "/healthz?n0=")
    lines = [line for line in text.splitlines() if "/healthz?n0=" in line]
    for raw, masked in SPELLINGS.items():
        assert all(masked in line and raw not in line for line in lines), (raw, lines)
    assert not re.search(r"0013.?8\d{3}|0013%20", text), "an unmasked number is in the log"


TRACEBACK_SPELLINGS = {  # a kept event whose time is a number: int() fails, with a traceback
    "138 0013 8004": "138****8004",
    "138-0013-8005": "138****8005",
    "%2B8613800138006": "%2B86138****8006",
    "+86 138 0013 8007": "+86138****8007",
    "+86-138-0013-8008": "+86138****8008",
    "来电13800138009转人工": "来电138****8009转人工",  # Chinese either side
}


@pytest.mark.parametrize("production", [True, False], ids=["production", "development"])
def test_numbers_inside_tracebacks_are_masked(start: Callable[..., IvrServe], tmp_path: Path,
                                              production: bool) -> None:
    journal = tmp_path / "data-1" / "journal"
    journal.mkdir(parents=True)
    pad = "x" * 220  # the log message quotes 200 characters: the number is in the traceback only
    lines = [json.dumps({"op": "hangup", "pad": pad, "args": ["CAtb"], "at": raw})
             for raw in TRACEBACK_SPELLINGS]
    (journal / "events-1-deadbeef.jsonl").write_text("\n".join(lines) + "\n")  # a dead worker's
    extra = {} if production else {"IVR_ENV": "development"}
    server = start(**extra).start()
    text = wait_for_log(server, "invalid literal for int()", len(TRACEBACK_SPELLINGS))
    assert "Traceback (most recent call last)" in text
    for raw, masked in TRACEBACK_SPELLINGS.items():
        assert raw not in text, f"{raw!r} is in a traceback unmasked"
        assert masked in text, (masked, text[-3000:])
    assert not re.search(r"0013.?800\d", text), "an unmasked number is in the log"
