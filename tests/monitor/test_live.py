"""Over a real uvicorn server: the SSE stream (httpx) and the dashboard (headless Chromium).

CI needs Debian's Chromium: ``apt-get install -y chromium``. The browser test does not
skip when it is missing: a dashboard nobody has seen render is not tested.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.monitor.conftest import LiveServer, monitor_headers

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CALLER = "+8613812345678"


def events(resp: httpx.Response, n: int) -> Iterator[tuple[float, str, dict[str, Any]]]:
    """The first ``n`` SSE events: (arrival time, event name, parsed data)."""
    name, data, seen = "message", "", 0
    for line in resp.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line == "" and data:
            yield time.monotonic(), name, json.loads(data)
            name, data, seen = "message", "", seen + 1
            if seen == n:
                return


def test_stream_pushes_updates_at_least_every_two_seconds(live_server: LiveServer) -> None:
    settings = live_server.svc.settings
    token = settings.monitor_token.split(",")[0]
    with httpx.Client(timeout=10) as client:
        assert client.get(live_server.url + "/api/metrics/stream").status_code == 401
        with client.stream("GET", live_server.url + "/api/metrics/stream",
                           params={"interval": 2}, headers=monitor_headers(settings)) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            got = []
            for at, name, data in events(resp, 3):
                got.append((at, name, data))
                if len(got) == 1:  # a call arrives between two updates
                    live_server.webhook("/voice/incoming", CallSid="CA1", From=CALLER,
                                        To="12328")
        assert [name for _, name, _ in got] == ["metrics"] * 3
        gaps = [b[0] - a[0] for a, b in zip(got, got[1:], strict=False)]
        assert all(gap <= 2.5 for gap in gaps), gaps
        first, last = got[0][2], got[-1][2]
        pool = next(q for q in last["queues"] if q["id"] == "pool")
        assert next(q for q in first["queues"] if q["id"] == "pool")["live"]["waiting"] == 0
        assert pool["live"]["waiting"] == 1
        assert len(pool["spark"]) == 24
        assert {s["queue"] for s in last["staffing"]} == {q["id"] for q in last["queues"]}
        with client.stream("GET", live_server.url + "/api/metrics/stream",
                           params={"token": token, "interval": 0.2}) as resp:
            assert next(events(resp, 1))[1] == "metrics", "?token= works for EventSource"


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_dashboard_turns_a_tile_red_on_an_abandoned_call(live_server: LiveServer,
                                                         browser: Browser) -> None:
    token = live_server.svc.settings.monitor_token.split(",")[0]
    page: Page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: errors.append(f"failed {req.url}")
            if "/stream" not in req.url else None)
    external: list[str] = []
    page.on("request", lambda req: external.append(req.url)
            if not req.url.startswith(live_server.url) else None)
    page.goto(f"{live_server.url}/dashboard?token={token}&lang=en")
    tiles = page.locator("article.tile")
    queues = [q.id for q in live_server.svc.config.roster.queues]
    expect(tiles).to_have_count(len(queues), timeout=10_000)
    pool = page.locator('article.tile[data-queue="pool"]')
    expect(pool).to_have_class("tile ok")
    expect(page.locator("#conn")).to_have_text("live")
    expect(page.locator("h1")).to_have_text("12345 hotline live monitor")
    page.evaluate("window.__noReload = true")

    live_server.webhook("/voice/incoming", CallSid="CA0", From=CALLER, To="12328")
    expect(pool.locator("dd.waiting")).to_have_text("1", timeout=5_000)
    live_server.clock.advance(2)  # a short abandon: excluded from the answer rate
    live_server.webhook("/voice/status", CallSid="CA0", CallStatus="completed")
    expect(pool.locator("dd.waiting")).to_have_text("0", timeout=5_000)
    expect(pool).to_have_class("tile ok")
    live_server.webhook("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    expect(pool.locator("dd.waiting")).to_have_text("1", timeout=5_000)
    live_server.clock.advance(30)  # longer than the short-abandon threshold
    live_server.webhook("/voice/status", CallSid="CA1", CallStatus="completed")
    expect(pool).to_have_class("tile bad", timeout=5_000)
    expect(pool.locator(".rate")).to_have_text("0.0%")
    expect(page.locator('#alerts li[data-kind="answer_rate_below_target"]')).to_have_count(3)
    assert page.evaluate("window.__noReload") is True, "updated without a reload"
    expect(page.locator('article.tile[data-queue="sub-12366"]')).to_have_class("tile ok")

    page.locator("#lang").click()
    expect(page.locator("h1")).to_have_text("12345 热线实时监控")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert errors == []
    assert external == []
    page.close()
