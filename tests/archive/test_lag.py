"""The archive's lag and its alert, from the stream and the consumer group (real Redis)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from ivr.archive.consumer import GROUP, ensure_group
from ivr.archive.lag import archive_lag, lag_alert
from ivr.settings import DEV_MONITOR_TOKEN, Settings
from ivr.store.keys import Keys
from tests.archive.events import answered
from tests.conftest import BASE, ROOT

MON = {"Authorization": f"Bearer {DEV_MONITOR_TOKEN}"}


@pytest.fixture
async def redis(redis_url: str, center: str) -> AsyncIterator[Redis]:
    r = Redis.from_url(redis_url, decode_responses=True)
    yield r
    await r.delete(Keys(center).events())
    await r.aclose()


async def test_lag_is_the_age_of_the_oldest_unarchived_event(redis: Redis, center: str) -> None:
    keys = Keys(center)
    await redis.xadd(keys.events(), {"e": "call", "d": json.dumps(answered("CA1"))}, id="1000-0")
    lag = await archive_lag(redis, keys, 61_000)
    assert lag["group"] is False  # nobody consumes yet
    assert lag["lag_seconds"] == 60.0
    await ensure_group(redis, keys)
    assert (await archive_lag(redis, keys, 61_000))["lag_seconds"] == 60.0  # undelivered
    got = await redis.xreadgroup(GROUP, "c1", {keys.events(): ">"}, count=10)
    assert isinstance(got, list)  # RESP2: [[stream, [(id, fields), ...]]]
    await redis.xadd(keys.events(), {"e": "call", "d": json.dumps(answered("CA2"))}, id="5000-0")
    lag = await archive_lag(redis, keys, 61_000)
    assert lag["pending"] == 1  # delivered, not acknowledged
    assert lag["lag_seconds"] == 60.0
    alert = lag_alert(lag, 30, 1000)
    assert alert is not None
    assert alert["kind"] == "archive_lag"
    assert "60 s" in alert["message"]
    assert lag_alert(lag, 120, 1000) is None
    await redis.xack(keys.events(), GROUP, got[0][1][0][0])
    lag = await archive_lag(redis, keys, 61_000)
    assert lag["pending"] == 0
    assert lag["lag_seconds"] == 56.0
    await redis.xreadgroup(GROUP, "c1", {keys.events(): ">"}, count=10)
    await redis.xack(keys.events(), GROUP, "5000-0")
    lag = await archive_lag(redis, keys, 61_000)
    assert lag["lag_seconds"] == 0.0
    assert lag_alert(lag, 30, 1000) is None
    near_cap = lag | {"length": 900, "lag_seconds": 1.0}
    assert "cap 1000" in (lag_alert(near_cap, 30, 1000) or {})["message"]


@pytest.fixture
def settings(redis_url: str, center: str, tmp_path: Path) -> Settings:
    """No consumer in this app: events pile up."""
    return Settings(redis_url=redis_url, center=center, data_dir=tmp_path, config_dir=ROOT,
                    public_base_url=BASE, twilio_auth_token="test-token-123", archive=False)


async def test_the_monitor_alerts_when_the_archive_lags(app_env: dict[str, Any],
                                                       redis: Redis, center: str) -> None:
    client = app_env["client"]
    assert not [a for a in (await client.get("/api/alerts", headers=MON)).json()["alerts"]
                if a["kind"] == "archive_lag"]
    old = int(time.time() * 1000) - 600_000
    await redis.xadd(Keys(center).events(), {"e": "call", "d": "{}"}, id=f"{old}-0")
    alerts = (await client.get("/api/alerts", headers=MON)).json()["alerts"]
    lagging = [a for a in alerts if a["kind"] == "archive_lag"]
    assert len(lagging) == 1
    assert lagging[0]["value"] >= 600
    metrics = (await client.get("/api/metrics", headers=MON)).json()
    assert any(a["kind"] == "archive_lag" for a in metrics["alerts"])
    status = (await client.get("/api/archive", headers=MON)).json()
    assert status["lag"]["length"] == 1
    assert status["consumer"] is None
