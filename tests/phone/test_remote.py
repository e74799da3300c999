"""``ivr call --url`` against a real server, with the ``ivr serve --demo`` seats."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from ivr.auth import seat_token
from ivr.phone.demo import serve_demo
from ivr.phone.run import CallOptions, place_call
from ivr.settings import Settings
from tests.phone.conftest import ROOT
from tests.phone.served import serve_in_thread


@pytest.fixture
def served(redis_url: str) -> Iterator[tuple[str, Settings]]:
    settings = Settings(redis_url=redis_url, config_dir=ROOT, center="trem" + uuid.uuid4().hex[:8],
                        twilio_auth_token="remote-token", seat_secret="remote-seat-secret",
                        hold_loop_seconds=2)
    with serve_in_thread(settings) as base:
        yield base, settings


def seat_state(base: str, settings: Settings, seat: str) -> str:
    token = seat_token(settings.seat_secret, seat)
    resp = httpx.get(f"{base}/api/seats/{seat}", headers={"Authorization": f"Bearer {token}"})
    return str(resp.json()["state"])


async def test_a_call_over_http_to_a_server_whose_demo_seats_answer(
        served: tuple[str, Settings]) -> None:
    base, settings = served
    # a service bound to every interface: the demo seats reach it on loopback
    stop = serve_demo(settings, "0.0.0.0", int(base.rsplit(":", 1)[1]), per_queue=2)  # noqa: S104
    try:
        for _ in range(100):
            if seat_state(base, settings, "p01") == "ready":
                break
            await asyncio.sleep(0.05)
        opts = CallOptions(number="12328", url=base, auth_token="remote-token", talk=0.3,
                           ring=0.1, settings=settings)
        result = await place_call(opts)
    finally:
        stop()
    assert result.ok, result.session.errors
    answered = [e for e in result.events if e.kind == "answered"]
    assert [e.data["endpoint"] for e in answered] == ["client:p01"]
    statuses = {e.data["status"] for e in result.events if e.kind == "request"}
    assert statuses == {200}
    assert seat_state(base, settings, "p01") == "offline", "the demo seats log out when stopped"


async def test_a_wrong_auth_token_is_refused_by_the_server(
        served: tuple[str, Settings]) -> None:
    base, settings = served
    opts = CallOptions(number="12345", url=base, auth_token="someone-elses-token",
                       settings=settings)
    result = await place_call(opts)
    assert not result.ok
    assert result.session.hung_up_by == "error"
    assert "403" in result.session.errors[0]
