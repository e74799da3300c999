"""The admin API changes config safely while calls run."""

from __future__ import annotations

from typing import Any

import httpx

from ivr.settings import DEV_ADMIN_TOKEN, DEV_MONITOR_TOKEN
from ivr.web.services import Services
from tests.conftest import Phone
from tests.twiml_helpers import dial_target, says

ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"}
MONITOR = {"Authorization": f"Bearer {DEV_MONITOR_TOKEN}"}


def client(app_env: dict[str, Any]) -> httpx.AsyncClient:
    c: httpx.AsyncClient = app_env["client"]
    return c


async def test_line_changes_merge_mode_for_the_next_call(app_env: dict[str, Any], phone: Phone,
                                                         svc: Services) -> None:
    c = client(app_env)
    resp = await c.get("/api/lines/12328", headers=MONITOR)
    assert resp.status_code == 200
    assert resp.json()["data"]["mode"] == "dual"
    etag = resp.headers["ETag"]
    line = resp.json()["data"] | {"mode": "whole", "flow": "whole-merge",
                                  "notice": "12328交通运输热线已并入12345。"}
    resp = await c.put("/api/lines/12328", json=line, headers={**ADMIN, "If-Match": etag})
    assert resp.status_code == 200, resp.text
    assert resp.headers["ETag"] != etag
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From="+8613800000000", To="12328")
    assert says(root)[0] == "12328交通运输热线已并入12345。"
    audit = (await c.get("/api/audit", headers=MONITOR)).json()
    assert audit[0]["action"] == "update"
    assert audit[0]["resource"] == "12328"
    assert audit[0]["change"]["before"]["mode"] == "dual"
    assert audit[0]["change"]["after"]["mode"] == "whole"
    assert audit[0]["who"] == "admin"


async def test_stale_etag_gets_409_and_changes_nothing(app_env: dict[str, Any],
                                                       svc: Services) -> None:
    c = client(app_env)
    resp = await c.get("/api/queues/pool", headers=MONITOR)
    etag = resp.headers["ETag"]
    q = resp.json()["data"]
    ok = await c.put("/api/queues/pool", json=q | {"wrapup_seconds": 20},
                     headers={**ADMIN, "If-Match": etag})
    assert ok.status_code == 200
    stale = await c.put("/api/queues/pool", json=q | {"wrapup_seconds": 99},
                        headers={**ADMIN, "If-Match": etag})
    assert stale.status_code == 409
    assert svc.config.roster.queue("pool").wrapup_seconds == 20
    missing = await c.put("/api/queues/pool", json=q, headers=ADMIN)
    assert missing.status_code == 428


async def test_queue_in_use_cannot_be_deleted_and_says_by_whom(app_env: dict[str, Any],
                                                               svc: Services) -> None:
    c = client(app_env)
    etag = (await c.get("/api/queues/sub-12366", headers=MONITOR)).headers["ETag"]
    resp = await c.delete("/api/queues/sub-12366", headers={**ADMIN, "If-Match": etag})
    assert resp.status_code == 422
    text = resp.text
    assert "12366" in text
    assert "sub-12366" in text
    assert any(q.id == "sub-12366" for q in svc.config.roster.queues)


async def test_seat_for_missing_queue_is_refused(app_env: dict[str, Any]) -> None:
    c = client(app_env)
    seat = {"id": "n01", "endpoint": "client:n01", "queues": ["nowhere"]}
    resp = await c.put("/api/roster/n01", json=seat, headers={**ADMIN, "If-None-Match": "*"})
    assert resp.status_code == 422
    assert "nowhere" in resp.text


async def test_new_seat_can_log_in_and_take_calls(app_env: dict[str, Any], phone: Phone) -> None:
    c = client(app_env)
    seat = {"id": "n01", "endpoint": "sip:n01@pbx.example", "queues": ["pool"], "skills": ["12328"]}
    resp = await c.put("/api/roster/n01", json=seat, headers={**ADMIN, "If-None-Match": "*"})
    assert resp.status_code == 201, resp.text
    assert (await phone.seat("n01", "login")).status_code == 200
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From="+8613800000000", To="12328")
    assert dial_target(root) == ("Sip", "sip:n01@pbx.example")


async def test_bad_input_names_the_problem_and_changes_nothing(app_env: dict[str, Any],
                                                               svc: Services) -> None:
    c = client(app_env)
    before = svc.config.version
    etag = (await c.get("/api/lines/12328", headers=MONITOR)).headers["ETag"]
    h = {**ADMIN, "If-Match": etag, "Content-Type": "application/json"}
    bad_json = await c.put("/api/lines/12328", content=b"{not json", headers=h)
    assert bad_json.status_code == 422
    assert "json" in bad_json.text.lower()
    unknown = await c.put("/api/lines/12328", json={"number": "12328", "colour": "red"}, headers=h)
    assert unknown.status_code == 422
    assert "colour" in unknown.text
    wrong_type = await c.put("/api/lines/12328", json={"number": "12328", "name": "x", "mode": 7,
                                                      "queue": "pool", "flow": "dual-number"}, headers=h)
    assert wrong_type.status_code == 422
    assert "mode" in wrong_type.text
    huge = await c.put("/api/lines/12328", content=b"x" * 300_000, headers=h)
    assert huge.status_code == 413
    assert svc.config.version == before


async def test_roles(app_env: dict[str, Any]) -> None:
    c = client(app_env)
    assert (await c.get("/api/lines")).status_code == 401
    assert (await c.get("/api/lines", headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await c.get("/api/lines", headers=MONITOR)).status_code == 200
    resp = await c.put("/api/plan", json={"area_code": "10", "default_line": "12345"},
                       headers={**MONITOR, "If-Match": '"1"'})
    assert resp.status_code == 403


async def test_flow_revision_publish_and_calls_keep_their_revision(
        app_env: dict[str, Any], phone: Phone, svc: Services) -> None:
    c = client(app_env)
    # a call starts on revision 1 of the 12345 entry flow and is at its menu
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From="+8613800000000", To="12345")
    old_action = root.find("Gather").get("action")  # type: ignore[union-attr]
    rev1 = (await c.get("/api/flows/entry-12345/revisions/1", headers=MONITOR)).json()["flow"]
    new = dict(rev1)
    new["nodes"] = dict(rev1["nodes"])
    new["nodes"]["greeting"] = {"kind": "say", "text": "新版问候语。", "next": "emergency"}
    new["nodes"]["emergency"] = dict(rev1["nodes"]["emergency"])
    new["nodes"]["emergency"]["options"] = {"1": {"next": "to_police"}}
    etag = (await c.get("/api/flows/entry-12345", headers=MONITOR)).headers["ETag"]
    saved = await c.put("/api/flows/entry-12345", json={"flow": new, "message": "new greeting"},
                        headers={**ADMIN, "If-Match": etag})
    assert saved.status_code == 200, saved.text
    assert saved.json()["draft"] == 2
    assert saved.json()["published"] == 1
    check = await c.post("/api/flows/entry-12345/validate?revision=2", headers=MONITOR)
    assert check.json()["valid"] is True
    pub = await c.post("/api/flows/entry-12345/publish", json={"revision": 2},
                       headers={**ADMIN, "If-Match": saved.headers["ETag"]})
    assert pub.status_code == 200
    assert pub.json()["published"] == 2
    # a new call hears revision 2
    root2 = await phone.twiml("/voice/incoming", CallSid="CA2", From="+8613800000000", To="12345")
    assert says(root2)[0] == "新版问候语。"
    # the call in progress finishes on revision 1: key 2 (fire) exists only there
    root = await phone.twiml(old_action or "", CallSid="CA1", Digits="2")
    assert dial_target(root) == ("Number", "119")
    # rollback to revision 1
    rb = await c.post("/api/flows/entry-12345/rollback", json={"revision": 1},
                      headers={**ADMIN, "If-Match": pub.headers["ETag"]})
    assert rb.status_code == 200
    assert rb.json()["published"] == 1
    revs = (await c.get("/api/flows/entry-12345/revisions", headers=MONITOR)).json()
    assert [r["revision"] for r in revs] == [1, 2]
    assert revs[1]["message"] == "new greeting"
    assert revs[1]["author"] == "admin"


async def test_invalid_revision_cannot_be_published(app_env: dict[str, Any], svc: Services) -> None:
    c = client(app_env)
    rev1 = (await c.get("/api/flows/dual-number/revisions/1", headers=MONITOR)).json()["flow"]
    broken = rev1 | {"nodes": {"to_pool": {"kind": "queue", "queue": "no-such-queue"}}}
    etag = (await c.get("/api/flows/dual-number", headers=MONITOR)).headers["ETag"]
    saved = await c.put("/api/flows/dual-number", json={"flow": broken},
                        headers={**ADMIN, "If-Match": etag})
    assert saved.status_code == 200  # a draft may be broken
    check = (await c.post("/api/flows/dual-number/validate", headers=MONITOR)).json()
    assert check["valid"] is False
    assert check["problems"][0]["where"] == "flow dual-number node to_pool"
    assert "no-such-queue" in check["problems"][0]["message"]
    pub = await c.post("/api/flows/dual-number/publish", json={"revision": 2},
                       headers={**ADMIN, "If-Match": saved.headers["ETag"]})
    assert pub.status_code == 422
    assert svc.config.flows.current["dual-number"] == 1


async def test_simulate_returns_path_and_twiml_without_live_state(app_env: dict[str, Any],
                                                                  svc: Services) -> None:
    c = client(app_env)
    resp = await c.post("/api/flows/entry-12345/simulate", headers=MONITOR,
                        json={"line": "12345", "inputs": [{"kind": "digits", "value": "7"},
                                                          {"kind": "digits", "value": "3"}]})
    assert resp.status_code == 200, resp.text
    steps = resp.json()
    assert [s["outcome"] for s in steps] == ["gather", "gather", "transfer"]
    assert "<Number>120</Number>" in steps[-1]["twiml"]
    assert await svc.store().redis.zcard(svc.store().keys.live()) == 0


async def test_config_change_reaches_another_worker_within_a_second(
        app_env: dict[str, Any], settings: Any, base_config: Any) -> None:
    import asyncio

    from ivr.app import create_app
    from ivr.clock import ManualClock

    other = create_app(settings, clock=ManualClock(), config=base_config, sweeper=False)
    async with other.router.lifespan_context(other):
        osvc: Services = other.state.services
        c = client(app_env)
        resp = await c.get("/api/lines/12315", headers=MONITOR)
        line = resp.json()["data"] | {"priority": 5}
        put = await c.put("/api/lines/12315", json=line,
                          headers={**ADMIN, "If-Match": resp.headers["ETag"]})
        assert put.status_code == 200
        loop = asyncio.get_running_loop()
        start = loop.time()
        while osvc.config.line("12315").priority != 5:  # type: ignore[union-attr]
            assert loop.time() - start < 1.0, "the other worker did not see the change in 1 s"
            await asyncio.sleep(0.01)
