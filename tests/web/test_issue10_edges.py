"""Issue 10, items 2, 3, 4, 6, 14, 16, 17: each through the webhooks and APIs on a real Redis.

Each test here failed before its fix (checked by reverting the fix; see the issue's note).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from redis.exceptions import ResponseError

from ivr.settings import DEV_ADMIN_TOKEN
from ivr.store.invariants import violations
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services
from tests.conftest import Phone
from tests.twiml_helpers import follow, verbs
from tests.web.test_journeys import counters
from tests.web.test_service12345 import FRIDAY_NIGHT, seat_post

CALLER = "+8613812345678"
ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"}


class FailingCallControl(RecordingCallControl):
    """The outer edge: Twilio refuses to place calls while ``refuse`` is set."""

    refuse = True

    async def create_call(self, to: str, from_: str, url: str,
                          status_callback: str | None = None) -> str:
        if self.refuse:
            self.requests.append(("create_call_refused", {"to": to}))
            raise RuntimeError("Twilio: 21215 account not authorized to call this number")
        return await super().create_call(to, from_, url, status_callback)


@pytest.fixture
def control() -> RecordingCallControl:
    return FailingCallControl()


async def all_offered(svc: Services) -> int:
    """Every queue's ``offered`` counter summed (whatever queues took part)."""
    redis = svc.store().redis
    total = 0
    async for k in redis.scan_iter(match=svc.store().keys.pattern().replace(":*", ":cnt:q:*")):
        total += int(await redis.hget(k, "offered") or 0)
    return total


async def test_item2_a_closed_sub_center_overflow_is_offered_once(
        phone: Phone, svc: Services, clock: Any) -> None:
    clock.advance(FRIDAY_NIGHT)  # 21:00: the sub-center 12366 is closed
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12366")
    await follow(phone, root, CallSid="CA1", From=CALLER)
    c = await svc.store().call_info("CA1")
    assert (c["q"], c["oq"]) == ("pool", "sub-12366")
    assert await all_offered(svc) == 1, "one call is offered once, whatever queue overflowed"


async def test_item3_a_status_callback_before_the_first_webhook_keeps_the_call_ended(
        phone: Phone, svc: Services) -> None:
    assert (await phone.seat("p01", "login")).status_code == 200
    await phone.twiml("/voice/status", CallSid="CA1", CallStatus="completed", From=CALLER, To="12328")
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    assert "Dial" not in verbs(root), verbs(root)
    assert "Redirect" not in verbs(root), verbs(root)
    assert (await svc.store().call_info("CA1"))["st"] == "ended"
    assert (await svc.store().seat_info("p01"))["st"] == "ready", "no seat is reserved for it"
    assert await all_offered(svc) == 0
    assert await violations(svc.store().redis, svc.store().keys) == []


async def test_item4_a_stale_if_match_on_delete_leaves_the_seat(
        app_env: dict[str, Any], phone: Phone, svc: Services) -> None:
    c: httpx.AsyncClient = app_env["client"]
    first = await c.get("/api/roster/p02", headers=ADMIN)
    stale = first.headers["ETag"]
    seat = first.json()["data"] | {"name": "改名后"}
    put = await c.put("/api/roster/p02", json=seat, headers={**ADMIN, "If-Match": stale})
    assert put.status_code == 200, put.text
    gone = await c.delete("/api/roster/p02", headers={**ADMIN, "If-Match": stale})
    assert gone.status_code == 409, gone.text
    assert "p02" in await svc.store().redis.smembers(svc.store().keys.seats())
    assert (await phone.seat("p02", "login")).status_code == 200, "the seat is still live"
    assert (await c.get("/api/roster/p02", headers=ADMIN)).status_code == 200


@pytest.mark.parametrize(("field", "value"), [("skills", ["x,sub-12366|12366"]), ("skills", ["12366 "]),
                                             ("queues", ["pool|sub-12366"]), ("id", "p 09")])
async def test_item5_identifiers_are_checked_where_they_enter(
        app_env: dict[str, Any], phone: Phone, svc: Services, field: str, value: object) -> None:
    c: httpx.AsyncClient = app_env["client"]
    seat = (await c.get("/api/roster/p02", headers=ADMIN)).json()["data"] | {"id": "p09", field: value}
    resp = await c.put("/api/roster/p09", json=seat, headers={**ADMIN, "If-None-Match": "*"})
    assert resp.status_code == 422, resp.text
    assert field in resp.text, "the answer names the field"
    assert (await c.get("/api/roster/p09", headers=ADMIN)).status_code == 404, "nothing was added"
    assert "p09" not in await svc.store().redis.smembers(svc.store().keys.seats())
    # the seat API and webhook query values take the same pattern
    assert (await phone.seat("p 09", "login")).status_code in (401, 404, 422)


async def test_item6_a_huge_dial_duration_ends_the_talk_normally(phone: Phone, svc: Services) -> None:
    await phone.seat("p01", "login")
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    await phone.twiml("/voice/seat-answered?call=CA1&seat=p01", CallSid="CB1")
    resp = await phone.post("/voice/dial-done?call=CA1&seat=p01", CallSid="CA1",
                            DialCallStatus="completed", DialCallDuration="99999999999999999999")
    assert resp.status_code == 200
    c = await svc.store().call_info("CA1")
    assert (c["st"], c["out"]) == ("ended", "answered"), c
    assert (await svc.store().seat_info("p01"))["st"] in ("wrapup", "ready")
    assert not svc.breaker.is_open()


async def test_item6_scripts_refuse_bad_arguments_before_writing(phone: Phone, svc: Services) -> None:
    await phone.seat("p01", "login")
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    await phone.twiml("/voice/seat-answered?call=CA1&seat=p01", CallSid="CB1")
    acd = svc.store()
    before = (await acd.call_info("CA1"), await acd.seat_info("p01"))
    for duration in ("99999999999999999999", "-1", "1.5", "nan", "x"):
        with pytest.raises(ResponseError, match="bad ARGV"):
            await acd.apply_event("dial_done", ["CA1", "p01", "completed", duration], 1_000)
    assert (await acd.call_info("CA1"), await acd.seat_info("p01")) == before, "no partial write"


@pytest.mark.error_log("a Redis script failed")
async def test_item6_a_script_error_is_a_bug_not_an_outage(
        phone: Phone, svc: Services, caplog: pytest.LogCaptureFixture) -> None:
    await phone.seat("p01", "login")
    acd = svc.store()
    await acd.redis.set(acd.keys.call("CA1"), "corrupt")  # a real script error: WRONGTYPE
    with caplog.at_level(logging.ERROR):
        resp = await phone.post("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    assert resp.status_code == 200, "the caller hears the apology"
    assert "<Dial" in resp.text, "the caller hears the apology"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR], "the bug is logged as ERROR"
    assert not svc.breaker.is_open(), "a script error does not open the Redis breaker"
    root = await phone.twiml("/voice/incoming", CallSid="CA2", From="+8613900000002", To="12328")
    assert verbs(root)[0] == "Dial", "the next, unrelated caller is routed, not apologised to"
    assert (await acd.call_info("CA2"))["st"] == "offered", \
        "the next, unrelated caller is routed, not apologised to"


SPELLINGS = ["+8613800138000", "8613800138000", "008613800138000", "13800138000",
             "138 0013 8000", "138-0013-8000"]


async def test_item14_every_spelling_of_one_number_shares_one_limit(
        app_env: dict[str, Any], phone: Phone, svc: Services) -> None:
    limit = svc.settings.rate_limit_calls
    sent = 0
    limited: list[str] = []
    for _ in range(3):
        for spelling in SPELLINGS:
            root = await phone.twiml("/voice/incoming", CallSid=f"CA{sent}", From=spelling, To="12328")
            sent += 1
            if verbs(root) == ["Say", "Hangup"]:
                limited.append(spelling)
        # the seventh spelling: %2B as the raw form body carries it (decoded to '+' by the form)
        params = {"CallSid": f"CA{sent}", "From": "+8613800138000", "To": "12328"}
        sig = svc.checker.sign("https://ivr.test/voice/incoming", params)
        body = f"CallSid=CA{sent}&From=%2B8613800138000&To=12328"
        resp = await app_env["client"].post(
            "/voice/incoming", content=body, headers={
                "X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"})
        sent += 1
        if "<Hangup" in resp.text:
            limited.append("%2B")
    assert sent - len(limited) == limit, f"{sent - len(limited)} calls passed a limit of {limit}"


async def test_item16_a_refused_warm_transfer_records_nothing_and_a_retry_counts_once(
        phone: Phone, svc: Services, control: FailingCallControl) -> None:
    await phone.seat("p01", "login")
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    await phone.twiml("/voice/seat-answered?call=CA1&seat=p01", CallSid="CAleg1")
    call_before = await svc.store().call_info("CA1")
    resp = await seat_post(phone, "p01", "transfer", {"target": "electricity", "mode": "warm"})
    assert resp.status_code == 502, resp.text
    assert await svc.store().call_info("CA1") == call_before, "nothing recorded"
    assert (await svc.store().seat_info("p01"))["st"] == "talking"
    assert control.redirected() == [], "no leg was moved"
    assert (await counters(svc, "l", "12328")).get("transferred", 0) == 0
    control.refuse = False
    for _ in range(2):  # the seat's retry, then a double click
        await seat_post(phone, "p01", "transfer", {"target": "electricity", "mode": "warm"})
    assert (await counters(svc, "l", "12328")).get("transferred", 0) == 1


async def test_item17_violations_reads_call_sids_that_contain_colons(
        phone: Phone, svc: Services) -> None:
    await phone.seat("p01", "login")
    sid = "sip:abc:12345@10.0.0.1"
    await phone.twiml("/voice/incoming", CallSid=sid, From=CALLER, To="12328")
    await phone.twiml(f"/voice/seat-answered?call={sid}&seat=p01", CallSid="CB1")
    assert (await svc.store().call_info(sid))["st"] == "talking"
    assert await violations(svc.store().redis, svc.store().keys) == []
