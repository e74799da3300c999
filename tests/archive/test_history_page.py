"""The history page over a real uvicorn server, in headless Chromium (no CDN, no skips)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ivr.settings import Settings
from tests.conftest import BASE, ROOT
from tests.monitor.conftest import LiveServer, live_server, monitor_headers  # noqa: F401
from tests.monitor.test_live import CHROMIUM, CHROMIUM_ARGS

SHOTS = Path("/tmp") / "ivr-history-shots"


@pytest.fixture
def settings(redis_url: str, center: str, tmp_path: Path) -> Settings:
    return Settings(redis_url=redis_url, center=center, data_dir=tmp_path, config_dir=ROOT,
                    public_base_url=BASE, twilio_auth_token="test-token-123")


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_history_page_shows_trends_and_the_report(live_server: LiveServer,  # noqa: F811
                                                  browser: Browser) -> None:
    s = live_server
    s.client.post(s.url + "/api/seats/p01/login", headers={
        "Authorization": "Bearer " + __import__("ivr.auth").auth.seat_token(
            s.svc.settings.seat_secret, "p01")})
    for i, line in enumerate(("12328", "12328", "12366")):
        s.webhook("/voice/incoming", CallSid=f"CA{i}", From=f"+8613800000{i:03d}", To=line)
        s.clock.advance(20)
        s.webhook("/voice/status", CallSid=f"CA{i}", CallStatus="completed")
    headers = monitor_headers(s.svc.settings)
    deadline = time.monotonic() + 30
    while True:
        lag = s.client.get(s.url + "/api/archive", headers=headers).json()["lag"]
        rows = s.client.get(s.url + "/api/reports", headers=headers,
                            params={"group": "line", "period": "day", "value": "2027-01-15"})
        if rows.status_code == 200 and not lag["pending"] and not lag["undelivered"]:
            break
        assert time.monotonic() < deadline, lag
        time.sleep(0.1)
    token = s.svc.settings.monitor_token.split(",")[0]
    page: Page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    external: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: external.append(req.url)
            if not req.url.startswith(s.url) and not req.url.startswith("blob:") else None)
    page.goto(f"{s.url}/history?token={token}&period=month&value=2027-01&group=line")
    expect(page.locator("body")).to_have_attribute("data-loaded", "1", timeout=10_000)
    assert "token" not in page.url, "the token does not stay in the address bar"
    report_rows = page.locator("#report tbody tr")
    expect(report_rows).to_have_count(2)
    first = report_rows.nth(0).locator("td")
    expect(first.nth(0)).to_have_text("12328")
    expect(first.nth(2)).to_have_text("2")  # offered
    api = s.client.get(s.url + "/api/reports", headers=headers,
                       params={"group": "line", "period": "month", "value": "2027-01"}).json()
    assert api["total"]["calls"] == 3
    expect(page.locator("#report tfoot td").nth(2)).to_have_text(str(api["total"]["offered"]))
    expect(page.locator('#volume polyline[data-series="offered"]')).to_have_count(1)
    points = page.locator('#volume polyline[data-series="offered"]').get_attribute("points") or ""
    assert len(points.split()) == 31, "one point per day of January"
    page.select_option("#group", "department")
    page.locator("#controls button[type=submit]").click()
    expect(page.locator("#title")).to_contain_text("department")
    with page.expect_download() as dl:
        page.locator("#csv").click()
    assert dl.value.suggested_filename == "report-department.csv"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "history.png"), full_page=True)
    assert errors == []
    assert external == []
    page.close()
