"""The service on a Redis Cluster of three masters: journeys, a storm, the admin API.

Every key of a center carries the hash tag ``{center}``, so all of a center's keys and
scripts live on one slot; different centers (a province's cities) spread over the
masters. The app runs with ``Settings(redis_cluster=True)``, i.e. redis-py's
RedisCluster client, exactly as ``IVR_REDIS_CLUSTER=true`` makes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from redis.asyncio.cluster import RedisCluster

from ivr.app import create_app, sweep_once
from ivr.clock import Clock, ManualClock, SystemClock
from ivr.core.config import CenterConfig
from ivr.settings import DEV_ADMIN_TOKEN, DEV_MONITOR_TOKEN, Settings
from ivr.store.invariants import violations
from ivr.store.keys import Keys
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services
from tests.conftest import BASE, ROOT, Phone
from tests.faults.conftest import needs_redis
from tests.faults.servers import RedisClusterProcs
from tests.faults.storm import Host, Storm, StormParams, compare, settle, storm_config
from tests.twiml_helpers import dial_target, says, verbs

pytestmark = needs_redis
ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"}
MONITOR = {"Authorization": f"Bearer {DEV_MONITOR_TOKEN}"}
TOKEN = "cluster-auth-token"


def cluster_settings(cluster: RedisClusterProcs, center: str, tmp_path: Path, **kw: Any) -> Settings:
    return Settings(redis_url=cluster.url, redis_cluster=True, center=center, data_dir=tmp_path,
                    config_dir=ROOT, public_base_url=BASE, twilio_auth_token=TOKEN, **kw)


async def wipe(svc: Services) -> None:
    redis = svc.store().redis
    keys = [k async for k in redis.scan_iter(match=svc.store().keys.pattern())]
    for k in keys:  # one by one: a multi-key DEL must not cross slots
        await redis.delete(k)


@contextlib.asynccontextmanager
async def open_app(settings: Settings, clock: Clock, config: CenterConfig | None = None,
                   sweeper: bool = False) -> AsyncIterator[dict[str, Any]]:
    app = create_app(settings, clock=clock, call_control=RecordingCallControl(), config=config,
                     sweeper=sweeper)
    async with app.router.lifespan_context(app):
        svc: Services = app.state.services
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE,
                                     limits=limits) as client:
            try:
                yield {"svc": svc, "client": client, "phone": Phone(client, svc)}
            finally:
                await wipe(svc)


@pytest.fixture
async def on_cluster(cluster: RedisClusterProcs, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    clock = ManualClock()
    settings = cluster_settings(cluster, "c" + uuid.uuid4().hex[:8], tmp_path)
    async with open_app(settings, clock) as env:
        env["clock"] = clock
        yield env


async def test_client_is_a_cluster_client_and_a_center_lives_in_one_slot(
        on_cluster: dict[str, Any], cluster: RedisClusterProcs) -> None:
    svc: Services = on_cluster["svc"]
    redis = cast(RedisCluster, svc.store().redis)
    assert isinstance(redis, RedisCluster)
    assert len(redis.get_primaries()) == 3
    phone: Phone = on_cluster["phone"]
    await phone.seat("p01", "login")
    await phone.twiml("/voice/incoming", CallSid="CA1", From="+8613800000000", To="12328")
    keys = [k async for k in redis.scan_iter(match=svc.store().keys.pattern())]
    assert len(keys) > 10
    slots = {await redis.cluster_keyslot(k) for k in keys}
    assert len(slots) == 1, slots


async def test_call_journeys_on_the_cluster(on_cluster: dict[str, Any]) -> None:
    svc: Services = on_cluster["svc"]
    phone: Phone = on_cluster["phone"]
    clock: ManualClock = on_cluster["clock"]
    acd = svc.store()
    assert (await phone.seat("p01", "login")).json()["state"] == "ready"
    # answered: dial, the seat's answer, the dial's end, the status callback
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From="+8613800000000", To="12328")
    assert dial_target(root) == ("Client", "p01")
    await phone.twiml("/voice/seat-answered?call=CA1&seat=p01", CallSid="CB1")
    clock.advance(40)
    root = await phone.twiml("/voice/dial-done?seat=p01", CallSid="CA1", DialCallStatus="completed",
                             DialCallDuration="40")
    assert "Hangup" in verbs(root)
    await phone.twiml("/voice/status", CallSid="CA1", CallStatus="completed")
    assert (await acd.call_info("CA1"))["out"] == "answered"
    assert (await acd.seat_info("p01"))["st"] == "wrapup"
    # a second caller waits (the only seat is in wrap-up); the sweeper ends the wrap-up
    root = await phone.twiml("/voice/incoming", CallSid="CA2", From="+8613800000001", To="12328")
    assert verbs(root)[-1] == "Redirect"
    clock.advance(11)
    assert await sweep_once(svc) == 1
    assert (await acd.call_info("CA2"))["st"] == "offered"
    root = await phone.twiml("/voice/wait", CallSid="CA2")
    assert dial_target(root) == ("Client", "p01")
    # a third caller hangs up while waiting: abandoned
    root = await phone.twiml("/voice/incoming", CallSid="CA3", From="+8613800000002", To="12315")
    await phone.twiml("/voice/status", CallSid="CA3", CallStatus="completed")
    assert (await acd.call_info("CA3"))["out"] == "abandoned"
    # the 12345 menu, then the pool; no-answer puts the seat on break
    root = await phone.twiml("/voice/incoming", CallSid="CA4", From="+8613800000003", To="12345")
    gather = root.find("Gather")
    assert gather is not None
    root = await phone.twiml(gather.get("action", ""), CallSid="CA4")  # no key pressed
    assert verbs(root)[-1] == "Redirect"
    assert (await acd.call_info("CA4"))["st"] == "waiting"
    root = await phone.twiml("/voice/dial-done?seat=p01", CallSid="CA2", DialCallStatus="no-answer")
    assert (await acd.seat_info("p01"))["st"] == "break"
    assert (await acd.call_info("CA2"))["st"] == "waiting"
    assert await violations(acd.redis, acd.keys) == []


async def test_violations_sees_a_broken_state_on_the_cluster(on_cluster: dict[str, Any]) -> None:
    """The checker's SCAN walks every master: a corrupted call is found, not missed."""
    svc: Services = on_cluster["svc"]
    phone: Phone = on_cluster["phone"]
    acd = svc.store()
    await phone.twiml("/voice/incoming", CallSid="CA1", From="+8613800000000", To="12328")
    assert await violations(acd.redis, acd.keys) == []
    await acd.redis.hset(acd.keys.call("CA1"), "st", "talking")  # no seat holds it
    found = await violations(acd.redis, acd.keys)
    assert any("CA1" in v for v in found), found


async def test_admin_changes_a_line_and_every_worker_on_the_cluster_follows(
        cluster: RedisClusterProcs, tmp_path: Path) -> None:
    settings = cluster_settings(cluster, "c" + uuid.uuid4().hex[:8], tmp_path)
    clock = ManualClock()
    async with open_app(settings, clock) as one, open_app(settings, clock) as two:
        c: httpx.AsyncClient = one["client"]
        resp = await c.get("/api/lines/12328", headers=MONITOR)
        assert resp.status_code == 200
        assert resp.json()["data"]["mode"] == "dual"
        etag = resp.headers["ETag"]
        line = resp.json()["data"] | {"mode": "whole", "flow": "whole-merge",
                                      "notice": "12328交通运输热线已并入12345。"}
        resp = await c.put("/api/lines/12328", json=line, headers={**ADMIN, "If-Match": etag})
        assert resp.status_code == 200, resp.text
        stale = await c.put("/api/lines/12328", json=line, headers={**ADMIN, "If-Match": etag})
        assert stale.status_code == 409
        audit = (await c.get("/api/audit", headers=MONITOR)).json()
        assert audit[0]["resource"] == "12328"
        assert audit[0]["change"]["after"]["mode"] == "whole"
        # the other worker picks the change up from the cluster within a second
        svc2: Services = two["svc"]
        for _ in range(30):
            if svc2.config.version == one["svc"].config.version:
                break
            await asyncio.sleep(0.05)
        assert svc2.config.version == one["svc"].config.version
        root = await two["phone"].twiml("/voice/incoming", CallSid="CA9", From="+8613800000000",
                                        To="12328")
        assert says(root)[0] == "12328交通运输热线已并入12345。"


async def test_storm_on_the_cluster(cluster: RedisClusterProcs, tmp_path: Path,
                                    base_config: CenterConfig) -> None:
    params = StormParams(calls=300, seats=20, spread_seconds=5.0, patience=(0.5, 4.0),
                         poll_seconds=0.1, seat_break=0.2, seed=3)
    cfg = storm_config(base_config, params.seats, wrapup_seconds=0.3, widen_after=0.5)
    # a pool big enough for the burst: see the xfail test below for what a small one does
    settings = cluster_settings(cluster, "c" + uuid.uuid4().hex[:8], tmp_path,
                                sweep_interval_seconds=0.1, redis_max_connections=1000)
    async with open_app(settings, SystemClock(), config=cfg, sweeper=True) as env:
        svc: Services = env["svc"]
        acd = svc.store()
        seats = [s.id for s in cfg.roster.seats]
        storm = Storm([Host("asgi", env["client"], BASE)], TOKEN, settings.seat_secret, seats, params)
        rec = await storm.run()  # violations() reads key by key: check it once all is quiet
        print(f"answered {rec.count('answered')} abandoned {rec.count('abandoned')} "
              f"requests {rec.requests} seat events {rec.seat_events}")
        errors = {sid: o for sid, o in rec.outcomes.items() if o.startswith("error")}
        assert errors == {}
        assert rec.double_holds == []
        assert rec.bad_twiml == []
        assert set(rec.statuses) == {200}, rec
        assert set(rec.seat_statuses) <= {200, 409}, rec
        assert rec.count("answered") > 50
        assert rec.count("abandoned") > 0
        assert rec.noanswers > 0
        await settle(acd.redis, acd.keys)
        assert await violations(acd.redis, acd.keys) == []
        assert await compare(acd.redis, acd.keys, rec, seats) == []


async def test_a_provinces_cities_spread_over_the_masters(cluster: RedisClusterProcs,
                                                          tmp_path: Path) -> None:
    """One center per city: each city in one slot, the cities on different masters."""
    cities = ["beijing", "tianjin", "shijiazhuang", "tangshan", "baoding", "langfang"]
    probe = cluster_settings(cluster, "probe", tmp_path)
    owners: dict[str, str] = {}
    for city in cities:
        async with open_app(probe.model_copy(update={"center": city}), ManualClock()) as env:
            svc: Services = env["svc"]
            await env["phone"].seat("p01", "login")
            await env["phone"].twiml("/voice/incoming", CallSid="CA1", From="+8613800000000", To="12328")
            redis = cast(RedisCluster, svc.store().redis)
            slot = await redis.cluster_keyslot(Keys(city).meta())
            node = redis.get_node_from_key(Keys(city).meta())
            assert node is not None
            owners[city] = f"{node.host}:{node.port}"
            assert slot == await redis.cluster_keyslot(Keys(city).call("CA1"))
            assert await violations(svc.store().redis, svc.store().keys) == []
    assert len(set(owners.values())) >= 2, owners


async def test_a_burst_over_the_pool_waits_on_the_cluster_as_on_one_server(
        cluster: RedisClusterProcs, tmp_path: Path) -> None:
    settings = cluster_settings(cluster, "c" + uuid.uuid4().hex[:8], tmp_path, redis_max_connections=4)
    async with open_app(settings, ManualClock()) as env:
        phone: Phone = env["phone"]
        roots = await asyncio.gather(*(phone.twiml("/voice/incoming", CallSid=f"CA{i}",
                                                   From=f"+86139{i:08d}", To="12328")
                                       for i in range(60)))
        apologies = [i for i, root in enumerate(roots) if verbs(root) == ["Say", "Dial"]]
        assert apologies == []
