"""The benchmark's baselines (``IVR_BENCH_ENDPOINT``): mounted only when asked for, and
the minimal one really runs its script on Redis (else it would measure nothing)."""

from __future__ import annotations

import httpx

from ivr.app import create_app
from ivr.core.config import CenterConfig
from ivr.settings import Settings
from ivr.store.keys import Keys
from tests.conftest import BASE


async def _post(settings: Settings, config: CenterConfig, path: str) -> tuple[httpx.Response, dict[str, str]]:
    app = create_app(settings, config=config, sweeper=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
            resp = await c.post(path, data={"CallSid": "CAbench1", "From": "+8613800138000"})
        acd = app.state.services.store()
        written = await acd.redis.hgetall(Keys(settings.center).call("CAbench1"))
        await acd.redis.delete(Keys(settings.center).call("CAbench1"))
    return resp, written


async def test_the_minimal_endpoint_runs_one_script_and_answers_twiml(
        settings: Settings, base_config: CenterConfig) -> None:
    resp, written = await _post(settings.model_copy(update={"bench_endpoint": True}), base_config,
                                "/voice/min")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/xml")
    assert "<Redirect" in resp.text
    assert set(written) == {"bench"}, written
    direct, written = await _post(settings.model_copy(update={"bench_endpoint": True}), base_config,
                                  "/voice/min-asgi")
    assert (direct.status_code, direct.headers["content-type"], direct.text) == (
        resp.status_code, resp.headers["content-type"], resp.text)
    assert set(written) == {"bench"}, written
    bare, _ = await _post(settings.model_copy(update={"bench_endpoint": True}), base_config, "/voice/bare")
    assert bare.status_code == 200
    assert "<Say>ok</Say>" in bare.text


async def test_the_baselines_are_not_mounted_unless_asked_for(
        settings: Settings, base_config: CenterConfig) -> None:
    for path in ("/voice/min", "/voice/min-asgi", "/voice/bare"):
        resp, written = await _post(settings, base_config, path)
        assert resp.status_code in (403, 404, 405), (path, resp.status_code)
        assert written == {}
