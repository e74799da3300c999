"""``/metrics`` parsed as Prometheus text, and who may read the monitoring routes."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivr.app import create_app
from ivr.clock import ManualClock
from ivr.core.config import CenterConfig
from ivr.settings import Settings
from ivr.web.services import Services
from tests.conftest import BASE, ROOT, Phone
from tests.monitor.test_api import known_calls

MONITOR_ROUTES = ["/api/metrics", "/api/metrics/history", "/api/alerts", "/api/staffing",
                  "/dashboard", "/api/metrics/stream"]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_prometheus_exposition_of_known_calls(phone: Phone, svc: Services,
                                                    clock: ManualClock,
                                                    app_env: dict[str, Any]) -> None:
    await known_calls(phone, svc, clock)
    resp = await app_env["client"].get("/metrics")  # IVR_METRICS_TOKEN empty: open
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    types = {f.name: f.type for f in text_string_to_metric_families(resp.text)}
    assert types["ivr_calls_answered"] == "counter"
    assert types["ivr_queue_wait_seconds"] == "histogram"
    assert types["ivr_answer_ratio"] == "gauge"
    s = samples(resp.text)
    pool = (("queue", "pool"),)
    assert s[("ivr_calls_answered_total", pool)] == 2
    assert s[("ivr_calls_offered_total", pool)] == 4
    assert s[("ivr_calls_abandoned_total", pool)] == 2
    assert s[("ivr_calls_abandoned_short_total", pool)] == 1
    assert s[("ivr_calls_answered_within_sl_total", pool)] == 1
    assert s[("ivr_talk_seconds_total", pool)] == 180
    assert s[("ivr_line_calls_total", (("line", "12328"),))] == 4
    ans = (("outcome", "answered"), ("queue", "pool"))
    assert s[("ivr_queue_wait_seconds_bucket", (("le", "5.0"), *ans))] == 1
    assert s[("ivr_queue_wait_seconds_bucket", (("le", "60.0"), *ans))] == 1
    assert s[("ivr_queue_wait_seconds_bucket", (("le", "+Inf"), *ans))] == 2
    assert s[("ivr_queue_wait_seconds_count", ans)] == 2
    assert s[("ivr_queue_wait_seconds_sum", ans)] == 88
    assert s[("ivr_answer_ratio", (("queue", "pool"), ("window", "15m")))] == 0.6667
    assert s[("ivr_service_level_ratio", (("queue", "pool"), ("window", "today")))] == 0.3333
    assert s[("ivr_answer_ratio_target", pool)] == 0.99
    assert s[("ivr_seats", (("queue", "pool"), ("state", "wrapup")))] == 1
    assert s[("ivr_seats_logged_in", pool)] == 1
    assert s[("ivr_alert", (("kind", "answer_rate_below_target"), ("queue", "pool")))] == 1
    assert s[("ivr_alert", (("kind", "no_seat_logged_in"), ("queue", "pool")))] == 0
    assert s[("ivr_staffing_seats_needed", pool)] >= 1
    assert ("ivr_answer_ratio", (("queue", "sub-12366"), ("window", "15m"))) not in s


@pytest.fixture
def secured(redis_url: str, center: str, tmp_path: Path) -> Settings:
    return Settings(redis_url=redis_url, center=center, data_dir=tmp_path,
                    config_dir=Path(__file__).resolve().parents[2], public_base_url=BASE,
                    twilio_auth_token="test-token-123", monitor_token="mon-secret",
                    admin_token="admin-secret", metrics_token="scrape-secret")


@contextlib.asynccontextmanager
async def serving(settings: Settings, clock: ManualClock,
                  base_config: CenterConfig) -> AsyncIterator[httpx.AsyncClient]:
    """The app with these settings, its client, and its keys deleted afterwards."""
    app = create_app(settings, clock=clock, config=base_config, sweeper=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=BASE) as client:
            yield client
        store = app.state.services.store()
        keys = [k async for k in store.redis.scan_iter(match=store.keys.pattern())]
        if keys:
            await store.redis.delete(*keys)


@pytest.fixture
async def secured_client(secured: Settings, clock: ManualClock,
                         base_config: CenterConfig) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(secured, clock, base_config) as client:
        yield client


@pytest.mark.parametrize("path", MONITOR_ROUTES)
async def test_monitor_routes_need_the_monitor_token(secured_client: httpx.AsyncClient,
                                                     path: str) -> None:
    assert (await secured_client.get(path)).status_code == 401
    wrong = await secured_client.get(path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert (await secured_client.get(path, params={"token": "mon-secret-"})).status_code == 401
    assert (await secured_client.get(path, headers={"Authorization": "Basic mon-secret"})
            ).status_code == 401
    if path != "/api/metrics/stream":  # an endless body: read over a real server elsewhere
        ok = await secured_client.get(path, headers={"Authorization": "Bearer mon-secret"})
        assert ok.status_code == 200
        by_query = (await secured_client.get(path, params={"token": "mon-secret"})).status_code
        assert by_query == (200 if path == "/dashboard" else 401), "?token= only for the browser"
        admin = await secured_client.get(path, headers={"Authorization": "Bearer admin-secret"})
        assert admin.status_code == 200, "an admin may do what a monitor may"


async def test_metrics_has_its_own_token(secured_client: httpx.AsyncClient) -> None:
    assert (await secured_client.get("/metrics")).status_code == 401
    monitor = await secured_client.get("/metrics", headers={"Authorization": "Bearer mon-secret"})
    assert monitor.status_code == 401
    ok = await secured_client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert ok.status_code == 200
    assert "ivr_calls_answered_total" in ok.text


async def test_dashboard_assets_are_served_without_data(secured_client: httpx.AsyncClient) -> None:
    js = await secured_client.get("/dashboard/dashboard.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "EventSource" in js.text
    assert "http" not in js.text.replace("http://www.w3.org", "")
    assert (await secured_client.get("/dashboard/../settings.py")).status_code == 404
    assert (await secured_client.get("/dashboard/other.js")).status_code == 404


@pytest.mark.parametrize(("env", "expected"), [("development", 200), ("production", 401)])
async def test_open_only_in_development_without_any_monitor_token(
        secured: Settings, clock: ManualClock, base_config: CenterConfig, env: str,
        expected: int) -> None:
    settings = secured.model_copy(update={"monitor_token": "", "env": env})
    async with serving(settings, clock, base_config) as client:
        assert (await client.get("/api/alerts")).status_code == expected


async def test_grafana_dashboard_uses_only_exposed_metrics(app_env: dict[str, Any]) -> None:
    doc = json.loads((ROOT / "grafana" / "ivr-dashboard.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\bivr_[a-z_]+", e)}
    text = (await app_env["client"].get("/metrics")).text
    families = list(text_string_to_metric_families(text))
    exposed = {s.name for f in families for s in f.samples} | {f.name for f in families}
    assert used, exprs
    assert used <= exposed, used - exposed
