"""The 12345 service around the call path: callbacks, survey, dispositions, the three
rates, seat transfers, exclusions, opening hours and English."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.app import sweep_once
from ivr.auth import seat_token
from ivr.clock import ManualClock
from ivr.settings import DEV_ADMIN_TOKEN, DEV_MONITOR_TOKEN
from ivr.store.invariants import violations
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services
from tests.conftest import Phone
from tests.twiml_helpers import dial_target, follow, says, verbs
from tests.web.test_journeys import counters


@pytest.fixture
def phone(dialect_phone: Phone) -> Phone:
    """Every journey here runs twice: on the Twilio phone and on the jambonz one."""
    return dialect_phone

CALLER = "+8613812345678"
FRIDAY_NIGHT = 5 * 3600  # the ManualClock starts on a Friday at 16:00 in Shanghai
SATURDAY_MORNING = 18 * 3600


async def seat_post(phone: Phone, seat: str, action: str, body: dict[str, Any]) -> Any:
    token = seat_token(phone.svc.settings.seat_secret, seat)
    return await phone.client.post(f"/api/seats/{seat}/{action}", json=body,
                                   headers={"Authorization": f"Bearer {token}"})


async def answer_and_finish(phone: Phone, clock: ManualClock, sid: str, seat: str,
                            talk: int = 60) -> Any:
    await phone.twiml(f"/voice/seat-answered?call={sid}&seat={seat}", CallSid="CAleg" + sid)
    clock.advance(talk)
    return await phone.twiml(f"/voice/dial-done?call={sid}&seat={seat}&lang=zh-CN", CallSid=sid,
                             DialCallStatus="completed", DialCallDuration=str(talk))


async def test_queued_callback_keeps_the_place_and_calls_back(
        phone: Phone, svc: Services, clock: ManualClock, control: RecordingCallControl) -> None:
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    clock.advance(61)
    root = await phone.twiml("/voice/wait?lang=zh-CN&loop=3&pos=1", CallSid="CA1")
    assert verbs(root) == ["Gather", "Redirect"]
    gather = root.find("Gather")
    assert gather is not None
    assert "回拨" in says(root)[0]
    root = await phone.twiml(gather.get("action") or "", CallSid="CA1", From=CALLER, Digits="1")
    assert verbs(root) == ["Say", "Hangup"]
    await phone.twiml("/voice/status", CallSid="CA1", CallStatus="completed")
    c = await svc.store().call_info("CA1")
    assert c["st"] == "waiting", "hanging up keeps the place in line"
    assert c["cb"] == "1", "hanging up keeps the place in line"
    await phone.twiml("/voice/incoming", CallSid="CA2", From="+8613900000000", To="12328")
    # a seat frees up: the first place in line is CA1, so the caller is called back
    await phone.seat("p01", "login")
    created = control.created()
    assert len(created) == 1
    assert created[0]["to"] == CALLER
    assert "/voice/callback-connect?call=CA1" in created[0]["url"]
    assert "/voice/callback-status?call=CA1" in created[0]["status_callback"]
    root = await phone.twiml(created[0]["url"], CallSid="CBleg1", From="12328", To=CALLER)
    assert verbs(root) == ["Say", "Dial"]
    assert dial_target(root) == ("Client", "p01")
    dial = root.find("Dial")
    assert dial is not None
    assert "call=CA1" in (dial.get("action") or "")
    await answer_and_finish(phone, clock, "CA1", "p01")
    await phone.twiml(created[0]["status_callback"], CallSid="CBleg1", CallStatus="completed")
    c = await svc.store().call_info("CA1")
    assert (c["st"], c["out"]) == ("ended", "answered")
    q = await counters(svc, "q", "pool")
    assert q["callback_requested"] == 1
    assert q["callback_connected"] == 1
    assert q.get("abandoned", 0) == 0, "a callback is not an abandon"
    assert (await svc.store().call_info("CA2"))["st"] == "waiting"
    assert await violations(svc.store().redis, svc.store().keys) == []


async def test_unanswered_callback_is_retried_then_given_up(
        phone: Phone, svc: Services, clock: ManualClock, control: RecordingCallControl) -> None:
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    clock.advance(61)
    await phone.twiml("/voice/callback-offer?lang=zh-CN", CallSid="CA1", From=CALLER, Digits="1")
    await phone.twiml("/voice/status", CallSid="CA1", CallStatus="completed")
    await phone.seat("p01", "login")
    for attempt in range(1, 4):
        assert len(control.created()) == attempt
        url = control.created()[-1]["status_callback"]
        await phone.twiml(url, CallSid=f"CBleg{attempt}", CallStatus="no-answer")
        if attempt < 3:
            assert (await svc.store().call_info("CA1"))["st"] == "retry"
            assert (await svc.store().seat_info("p01"))["st"] == "ready", "the seat is not blamed"
            clock.advance(121)
            await sweep_once(svc)
    c = await svc.store().call_info("CA1")
    assert (c["st"], c["out"]) == ("ended", "callback_failed")
    assert (await counters(svc, "q", "pool"))["callback_failed"] == 1
    assert await violations(svc.store().redis, svc.store().keys) == []


async def test_survey_disposition_and_the_three_rates(app_env: dict[str, Any], phone: Phone,
                                                      svc: Services, clock: ManualClock) -> None:
    await phone.seat("p01", "login")
    plan = [("CA1", "1", ("complaint", True)), ("CA2", "2", ("question", True)),
            ("CA3", "3", ("help", False))]
    for sid, rating, (category, resolved) in plan:
        await phone.twiml("/voice/incoming", CallSid=sid, From=CALLER, To="12328")
        root = await answer_and_finish(phone, clock, sid, "p01")
        gather = root.find("Gather")
        assert gather is not None
        assert "满意请按1" in says(root)[0]
        bye = await phone.twiml(gather.get("action") or "", CallSid=sid, Digits=rating)
        assert verbs(bye) == ["Say", "Hangup"]
        resp = await seat_post(phone, "p01", "disposition",
                               {"category": category, "resolved": resolved, "department": "税务局"})
        assert resp.status_code == 200, resp.text
        again = await seat_post(phone, "p01", "disposition",
                                {"category": category, "resolved": resolved})
        assert again.status_code == 409, "one disposition per call"
        await phone.twiml("/voice/status", CallSid=sid, CallStatus="completed")
        await phone.seat("p01", "ready")
    await phone.twiml("/voice/incoming", CallSid="CA4", From=CALLER, To="12328")
    await phone.twiml("/voice/status", CallSid="CA4", CallStatus="completed")  # abandoned
    client = app_env["client"]
    resp = await client.get("/api/rates", headers={"Authorization": f"Bearer {DEV_MONITOR_TOKEN}"})
    assert resp.status_code == 200, resp.text
    line = resp.json()["lines"]["12328"]
    assert line["response_rate"] == 0.75  # 3 answered of 4 that asked for a person
    assert line["resolution_rate"] == round(2 / 3, 4)
    assert line["satisfaction_rate"] == round(2 / 3, 4)
    assert line["categories"]["complaint"] == 1
    assert resp.json()["center"]["answered"] == 3
    assert "response_rate" in resp.json()["definitions"]


async def test_seat_cold_transfer_to_110_and_exclusion(phone: Phone, svc: Services,
                                                       clock: ManualClock,
                                                       control: RecordingCallControl) -> None:
    await phone.seat("p01", "login")
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    await phone.twiml("/voice/seat-answered?call=CA1&seat=p01", CallSid="CAleg1")
    resp = await seat_post(phone, "p01", "transfer", {"target": "police"})
    assert resp.status_code == 200, resp.text
    prefix = "/jambonz" if getattr(phone, "dialect", "") == "jambonz" else "/voice"
    assert control.requests[-1] == ("redirect", {  # through the platform the call came in on
        "sid": "CA1", "url": f"https://ivr.test{prefix}/transfer-out?target=police"})
    root = await phone.twiml("/voice/transfer-out?target=police", CallSid="CA1", From=CALLER)
    assert dial_target(root) == ("Number", "110")
    assert root.find("Dial").get("callerId") == CALLER  # type: ignore[union-attr]
    # a caller number that is not E.164 (short code, withheld, forged) is never presented
    for shown in ("12345", "anonymous", "+86138\x01<x>"):
        other = await phone.twiml("/voice/transfer-out?target=police", CallSid="CA1", From=shown)
        assert other.find("Dial").get("callerId") is None, shown  # type: ignore[union-attr]
    assert (await svc.store().seat_info("p01"))["st"] == "wrapup"
    c = await svc.store().call_info("CA1")
    assert (c["st"], c["out"], c["xfer"]) == ("ended", "answered", "transfer:police")
    assert (await counters(svc, "l", "12328"))["transfer:police"] == 1
    bad = await seat_post(phone, "p01", "transfer", {"target": "police"})
    assert bad.status_code == 409, "no call to transfer any more"
    # exclusion from a seat
    clock.advance(11)
    await sweep_once(svc)
    await phone.twiml("/voice/incoming", CallSid="CA2", From=CALLER, To="12328")
    await phone.twiml("/voice/seat-answered?call=CA2&seat=p01", CallSid="CAleg2")
    resp = await seat_post(phone, "p01", "exclusion", {"topic": "litigation"})
    assert resp.status_code == 200
    url = control.requests[-1][1]["url"]
    root = await phone.twiml(url, CallSid="CA2")
    assert verbs(root) == ["Say", "Hangup"]
    assert "人民法院" in says(root)[0]
    assert (await counters(svc, "l", "12328"))["exclusion:litigation"] == 1
    assert (await seat_post(phone, "p01", "exclusion", {"topic": "nope"})).status_code == 422


async def test_seat_warm_transfer_keeps_the_seat_until_it_leaves(
        phone: Phone, svc: Services, control: RecordingCallControl) -> None:
    await phone.seat("p01", "login")
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    await phone.twiml("/voice/seat-answered?call=CA1&seat=p01", CallSid="CAleg1")
    resp = await seat_post(phone, "p01", "transfer", {"target": "electricity", "mode": "warm"})
    assert resp.status_code == 200, resp.text
    dialled, moved = control.requests[-2:]
    assert dialled[0] == "create_call", "the target is dialled first"
    assert dialled[1]["to"] == "95598", "the target is dialled first"
    assert moved[0] == "redirect", "then the seat's leg moves"
    assert moved[1]["sid"] == "CAleg1", "then the seat's leg moves"
    assert "room=xfer-CA1" in moved[1]["url"]
    ops = [moved]
    assert (await svc.store().seat_info("p01"))["st"] == "talking", "the seat stays on the line"
    # the seat's leg left the caller's <Dial>: its action puts the caller into the room
    root = await phone.twiml("/voice/dial-done?call=CA1&seat=p01&lang=zh-CN", CallSid="CA1",
                             DialCallStatus="completed", DialCallDuration="40")
    conf = root.find("Dial/Conference")
    assert conf is not None
    assert conf.text == "xfer-CA1"
    assert (await svc.store().seat_info("p01"))["st"] == "talking"
    root = await phone.twiml(ops[0][1]["url"], CallSid="CAleg1")
    assert root.find("Dial/Conference") is not None
    await phone.twiml("/voice/conference-event?call=CA1&seat=p01", CallSid="CAleg1",
                      StatusCallbackEvent="participant-leave")
    assert (await svc.store().seat_info("p01"))["st"] == "wrapup"
    c = await svc.store().call_info("CA1")
    assert (c["st"], c["out"], c["xfer"]) == ("ended", "answered", "transfer:electricity")


async def test_exclusion_node_in_a_flow(app_env: dict[str, Any], phone: Phone,
                                        svc: Services) -> None:
    client = app_env["client"]
    admin = {"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"}
    resp = await client.get("/api/lines/12348", headers=admin)
    line = resp.json()["data"] | {"flow": "matters-guide"}
    put = await client.put("/api/lines/12348", json=line,
                           headers={**admin, "If-Match": resp.headers["ETag"]})
    assert put.status_code == 200, put.text
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12348")
    action = root.find("Gather").get("action")  # type: ignore[union-attr]
    root = await phone.twiml(action or "", CallSid="CA1", From=CALLER, Digits="3")
    assert verbs(root) == ["Say", "Hangup"]
    assert "信访" in says(root)[0]
    await phone.twiml("/voice/status", CallSid="CA1", CallStatus="completed")
    c = await svc.store().call_info("CA1")
    assert (c["st"], c["out"]) == ("ended", "exclusion:petition")


async def test_closed_sub_centers(phone: Phone, svc: Services, clock: ManualClock) -> None:
    clock.advance(FRIDAY_NIGHT)  # 21:00: office hours are over
    await phone.seat("s12366-1", "login")
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12366")
    root = await follow(phone, root, CallSid="CA1", From=CALLER)
    assert "Gather" not in verbs(root), "overflow when closed offers no callback at once"
    c = await svc.store().call_info("CA1")
    assert (c["q"], c["oq"]) == ("pool", "sub-12366"), "closed: straight to the 12345 pool"
    root = await phone.twiml("/voice/incoming", CallSid="CA2", From=CALLER, To="12313")
    root = await follow(phone, root, CallSid="CA2", From=CALLER)
    assert verbs(root)[-2:] == ["Say", "Hangup"]
    assert "工作时间" in says(root)[-1]
    await phone.twiml("/voice/status", CallSid="CA2", CallStatus="completed")
    assert (await svc.store().call_info("CA2"))["out"] == "closed:sub-12313"
    root = await phone.twiml("/voice/incoming", CallSid="CA3", From=CALLER, To="12367")
    root = await follow(phone, root, CallSid="CA3", From=CALLER)
    assert "Gather" in verbs(root), "closed: callback offered"
    assert "回拨" in " ".join(says(root)), "closed: callback offered"


async def test_open_on_an_adjusted_working_day_and_closed_on_a_holiday() -> None:
    from datetime import datetime

    from ivr.core.hours import Schedule, is_open
    from ivr.core.kpi import SHANGHAI

    office = Schedule(weekly={"mon": ("08:30-17:30",)}, holidays=(datetime(2026, 10, 5).date(),),
                      workdays=(datetime(2026, 10, 10).date(),))
    def at(year: int, month: int, day: int, hour: int, minute: int) -> float:
        return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).timestamp()

    assert is_open(office, at(2026, 10, 12, 9, 0))  # a Monday
    assert not is_open(office, at(2026, 10, 12, 17, 30))
    assert not is_open(office, at(2026, 10, 5, 9, 0))  # a Monday, but a holiday
    assert is_open(office, at(2026, 10, 10, 9, 0))  # a Saturday worked as a Monday
    assert not is_open(office, at(2026, 10, 11, 9, 0))


async def test_english_caller_hears_english(phone: Phone, svc: Services) -> None:
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12345")
    action = root.find("Gather").get("action")  # type: ignore[union-attr]
    root = await phone.twiml(action or "", CallSid="CA1", From=CALLER, Digits="9")
    say = root.findall("Say")
    assert say[0].get("language") == "en-US"
    assert "Welcome" in (say[0].text or "")
    root = await follow(phone, root, CallSid="CA1", From=CALLER)
    assert "You are next in line" in (root.findall("Say")[0].text or "")
    assert (await svc.store().call_info("CA1"))["lg"] == "en-US"
    redirect = root.find("Redirect")
    assert redirect is not None
    assert "lang=en-US" in (redirect.text or "")


async def test_three_rates_reach_prometheus(app_env: dict[str, Any], phone: Phone,
                                            clock: ManualClock) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    await phone.seat("p01", "login")
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    root = await answer_and_finish(phone, clock, "CA1", "p01")
    await phone.twiml(root.find("Gather").get("action") or "", CallSid="CA1", Digits="2")
    await seat_post(phone, "p01", "disposition", {"category": "help", "resolved": True})
    text = (await app_env["client"].get("/metrics")).text
    values = {(f.name, tuple(s.labels.values())): s.value
              for f in text_string_to_metric_families(text) for s in f.samples}
    assert values[("ivr_line_satisfaction_ratio", ("12328",))] == 1.0
    assert values[("ivr_queue_resolution_ratio", ("pool",))] == 1.0
    assert values[("ivr_line_response_ratio", ("12328",))] == 1.0
