"""Issue 10 items 11 and 12: config the engine cannot run is refused and never published.

The tests in ``tests/flows`` show the 422s on new flows. These change a flow that live
calls use, through the admin API on a real Redis, and check what the issue asks beyond the
422: nothing is published (not in this worker, not in the config stored in Redis for the
others), the revision calls use stays the same, and a caller still hears the old prompt.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ivr.core.flows import MAX_STEPS
from ivr.web.services import Services
from tests.conftest import Phone
from tests.flows.conftest import ADMIN, MONITOR, chain, problems
from tests.twiml_helpers import says

GOOD = "您好，这里是测试热线。"
BAD_PROMPTS = ["您好{", "{number.__class__.__mro__}", "{number:>50000000}"]


def greeting(text: str) -> dict[str, Any]:
    """The flow ``live``: one say node ``hello``, then the queue."""
    return {"id": "live", "start": "hello",
            "nodes": {"hello": {"kind": "say", "text": text, "next": "q"},
                      "q": {"kind": "queue"}}}


async def live_flow(c: httpx.AsyncClient) -> str:
    """Publish ``live`` (revision 1), put line 12328 on it; returns the flow's ETag."""
    made = await c.post("/api/flows", json={"flow": greeting(GOOD), "publish": True}, headers=ADMIN)
    assert made.status_code == 201, made.text
    line = await c.get("/api/lines/12328", headers=MONITOR)
    moved = await c.put("/api/lines/12328", json={**line.json()["data"], "flow": "live"},
                        headers={**ADMIN, "If-Match": line.headers["ETag"]})
    assert moved.status_code == 200, moved.text
    return str(made.headers["ETag"])


async def heard(phone: Phone, sid: str) -> str:
    """What a new caller on 12328 hears first."""
    root = await phone.twiml("/voice/incoming", CallSid=sid, From="+8613800000077", To="12328")
    return says(root)[0]


async def assert_unchanged(c: httpx.AsyncClient, svc: Services, phone: Phone, version: Any,
                           sid: str) -> None:
    """Revision 1 is still the published one, here and in Redis, and callers hear it."""
    summary = (await c.get("/api/flows/live", headers=MONITOR)).json()
    assert summary["published"] == 1, summary
    assert svc.config.version == version
    stored = await svc.configs().load()  # what every other worker loads
    assert stored.version == version
    assert stored.flow_meta["live"]["published"] == 1
    assert await heard(phone, sid) == GOOD


@pytest.mark.parametrize("text", BAD_PROMPTS)
async def test_a_bad_prompt_saved_over_a_live_flow_is_refused_and_not_published(
        app_env: dict[str, Any], phone: Phone, svc: Services, text: str) -> None:
    c = app_env["client"]
    etag = await live_flow(c)
    assert await heard(phone, "CAbefore") == GOOD
    version = svc.config.version
    resp = await c.put("/api/flows/live", json={"flow": greeting(text), "publish": True},
                       headers={**ADMIN, "If-Match": etag})
    found = problems(resp)
    assert [(p["where"], p["field"]) for p in found] == [("flow live node hello", "text")], found
    await assert_unchanged(c, svc, phone, version, "CAafter")


@pytest.mark.parametrize("text", BAD_PROMPTS)
async def test_a_bad_prompt_kept_as_a_draft_cannot_be_published(
        app_env: dict[str, Any], phone: Phone, svc: Services, text: str) -> None:
    c = app_env["client"]
    etag = await live_flow(c)
    draft = await c.put("/api/flows/live", json={"flow": greeting(text), "publish": False},
                        headers={**ADMIN, "If-Match": etag})
    assert draft.status_code == 200, draft.text  # a draft may be wrong: it runs no call
    version = svc.config.version
    check = (await c.post("/api/flows/live/validate", headers=MONITOR)).json()
    assert check["revision"] == 2, check
    assert check["valid"] is False, check
    assert [p["where"] for p in check["problems"]] == ["flow live node hello"], check
    pub = await c.post("/api/flows/live/publish", json={"revision": 2},
                       headers={**ADMIN, "If-Match": draft.headers["ETag"]})
    assert [p["where"] for p in problems(pub)] == ["flow live node hello"]
    sim = await c.post("/api/flows/live/simulate", json={"revision": 2}, headers=MONITOR)
    assert [p["where"] for p in problems(sim)] == ["flow live node hello"]
    await assert_unchanged(c, svc, phone, version, "CAdraft")


@pytest.mark.parametrize("n_say", [MAX_STEPS + 6, 2500])  # 70 nodes, and thousands
async def test_a_chain_too_long_for_the_engine_is_refused_over_a_live_flow(
        app_env: dict[str, Any], phone: Phone, svc: Services, n_say: int) -> None:
    c = app_env["client"]
    etag = await live_flow(c)
    version = svc.config.version
    long = chain("live", n_say)
    resp = await c.put("/api/flows/live", json={"flow": long, "publish": True},
                       headers={**ADMIN, "If-Match": etag})
    found = problems(resp)  # 422, never a 500 (a 500 would also fail through the error log)
    assert any(p["where"] == "flow live node s0" and str(MAX_STEPS) in p["message"]
               for p in found), found[:3]
    await assert_unchanged(c, svc, phone, version, f"CAlong{n_say}")
    draft = await c.put("/api/flows/live", json={"flow": long, "publish": False},
                        headers={**ADMIN, "If-Match": etag})
    assert draft.status_code == 200, draft.text[:300]  # a draft may be wrong: it runs no call
    version = svc.config.version
    sim = await c.post("/api/flows/live/simulate", json={"revision": 2}, headers=MONITOR)
    assert any(p["where"] == "flow live node s0" for p in problems(sim))
    pub = await c.post("/api/flows/live/publish", json={"revision": 2},
                       headers={**ADMIN, "If-Match": draft.headers["ETag"]})
    assert any(p["where"] == "flow live node s0" for p in problems(pub))
    await assert_unchanged(c, svc, phone, version, f"CAlong{n_say}b")
