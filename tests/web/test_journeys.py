"""Calls through the webhooks, end to end, on a real Redis."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.app import sweep_once
from ivr.clock import ManualClock
from ivr.store.invariants import violations
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services
from tests.conftest import Phone
from tests.twiml_helpers import dial_target, follow, says, verbs


@pytest.fixture
def phone(dialect_phone: Phone) -> Phone:
    """Every journey here runs twice: on the Twilio phone and on the jambonz one."""
    return dialect_phone

CALLER = "+8613812345678"


async def counters(svc: Services, kind: str, name: str) -> dict[str, int]:
    redis = svc.store().redis
    total: dict[str, int] = {}
    async for k in redis.scan_iter(match=svc.store().keys.pattern().replace(":*", f":cnt:{kind}:{name}:*")):
        for f, v in (await redis.hgetall(k)).items():
            total[str(f)] = total.get(str(f), 0) + int(v)
    return total


async def call_state(svc: Services, sid: str) -> dict[str, Any]:
    return await svc.store().call_info(sid)


async def test_dual_line_goes_straight_to_a_skilled_seat(phone: Phone, svc: Services,
                                                        clock: ManualClock) -> None:
    assert (await phone.seat("p05", "login")).status_code == 200  # no 12328 skill
    assert (await phone.seat("p01", "login")).status_code == 200  # has 12328
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    assert verbs(root) == ["Dial"], "a dual-number line has no menu and no greeting"
    assert dial_target(root) == ("Client", "p01")
    dial = root.find("Dial")
    assert dial is not None
    assert dial.get("action", "").startswith("https://ivr.test/voice/dial-done")
    client = dial.find("Client")
    assert client is not None
    assert "seat-answered" in (client.get("statusCallback") or "")

    clock.advance(3)
    await phone.twiml("/voice/seat-answered?call=CA1&seat=p01", CallSid="CAchild",
                      ParentCallSid="CA1", CallStatus="in-progress")
    assert (await call_state(svc, "CA1"))["st"] == "talking"
    clock.advance(120)
    root = await phone.twiml("/voice/dial-done?seat=p01", CallSid="CA1",
                             DialCallStatus="completed", DialCallDuration="120")
    assert verbs(root) == ["Gather", "Hangup"], "the after-call survey, then goodbye"
    assert "满意请按1" in says(root)[0]
    assert (await svc.store().seat_info("p01"))["st"] == "wrapup"
    await phone.twiml("/voice/status", CallSid="CA1", CallStatus="completed")
    await phone.twiml("/voice/status", CallSid="CA1", CallStatus="completed")  # repeated
    c = await call_state(svc, "CA1")
    assert c["st"] == "ended"
    assert c["out"] == "answered"
    assert c["wait"] == "3000"
    clock.advance(10)
    await sweep_once(svc)
    assert (await svc.store().seat_info("p01"))["st"] == "ready", "wrap-up ends by itself"
    line = await counters(svc, "l", "12328")
    assert line["calls"] == 1
    assert line["offered"] == 1
    assert line["answered"] == 1
    assert line["sl_answered"] == 1
    assert line.get("abandoned", 0) == 0
    assert await violations(svc.store().redis, svc.store().keys) == []


async def test_waiting_caller_hears_position_then_is_pulled_to_a_seat(
        phone: Phone, svc: Services, control: RecordingCallControl) -> None:
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    assert verbs(root) == ["Say", "Pause", "Redirect"]
    assert "下一位" in says(root)[0]
    root2 = await phone.twiml("/voice/incoming", CallSid="CA2", From=CALLER, To="+86 10 12328")
    assert "前面还有1位" in says(root2)[0]
    redirect = root.find("Redirect")
    assert redirect is not None
    assert "/voice/wait" in (redirect.text or "")
    # a seat logs in: the first caller is reserved for it and pulled out at once (REST)
    resp = await phone.seat("p01", "login")
    assert resp.json()["state"] == "reserved"
    assert resp.json()["call"]["sid"] == "CA1"
    assert control.redirected() == ["CA1"]
    root = await phone.twiml(redirect.text or "", CallSid="CA1")
    assert dial_target(root) == ("Client", "p01")
    root = await phone.twiml("/voice/wait?loop=1&pos=1", CallSid="CA2")
    assert verbs(root)[-1] == "Redirect", "the second caller still waits"
    assert await violations(svc.store().redis, svc.store().keys) == []


async def test_whole_merge_line_plays_notice_then_pool_with_its_skill(
        phone: Phone, svc: Services) -> None:
    await phone.seat("p03", "login")  # trained for 12358
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="+8612358")
    assert verbs(root) == ["Say", "Redirect"], "the notice first, holding no seat"
    assert "12358" in says(root)[0]
    assert "12345" in says(root)[0]
    assert (await call_state(svc, "CA1"))["st"] == "ivr"
    root = await follow(phone, root, CallSid="CA1", From=CALLER)
    assert dial_target(root) == ("Client", "p03")
    c = await call_state(svc, "CA1")
    assert (c["q"], c["sk"], c["ln"]) == ("pool", "12358", "12358")


async def test_skill_widens_to_any_pool_seat_after_the_wait(
        phone: Phone, svc: Services, clock: ManualClock, control: RecordingCallControl) -> None:
    await phone.seat("p05", "login")  # no skills: may take 12358 only after widening
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12358")
    root = await follow(phone, root, CallSid="CA1", From=CALLER)
    assert verbs(root)[-1] == "Redirect"
    assert "/voice/wait" in (root.find("Redirect").text or "")  # type: ignore[union-attr]
    clock.advance(29)
    await sweep_once(svc)
    assert (await call_state(svc, "CA1"))["st"] == "waiting"
    clock.advance(1)
    await sweep_once(svc)
    c = await call_state(svc, "CA1")
    assert (c["st"], c["seat"], c["sk"]) == ("offered", "p05", "any")
    assert control.redirected() == ["CA1"]


async def test_12345_silence_goes_to_a_person_without_a_menu(phone: Phone, svc: Services) -> None:
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12345")
    assert verbs(root) == ["Gather", "Redirect"]
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("timeout") == "3"
    assert gather.get("numDigits") == "1"
    assert "12345" in says(root)[0]
    assert (await call_state(svc, "CA1"))["st"] == "ivr"
    await phone.seat("p08", "login")
    root = await phone.twiml(gather.get("action") or "", CallSid="CA1")  # no Digits: silence
    assert dial_target(root) == ("Client", "p08")


async def test_emergency_key_transfers_to_110_with_caller_number(phone: Phone,
                                                                 svc: Services) -> None:
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12345")
    action = root.find("Gather").get("action")  # type: ignore[union-attr]
    root = await phone.twiml(action or "", CallSid="CA1", From=CALLER, Digits="1")
    assert verbs(root) == ["Say", "Dial"]
    assert dial_target(root) == ("Number", "110")
    dial = root.find("Dial")
    assert dial is not None
    assert dial.get("callerId") == CALLER
    done = await phone.twiml(dial.get("action") or "", CallSid="CA1", DialCallStatus="completed")
    assert verbs(done) == ["Hangup"]
    await phone.twiml("/voice/status", CallSid="CA1", CallStatus="completed")
    c = await call_state(svc, "CA1")
    assert (c["st"], c["out"]) == ("ended", "transferred:police")
    line = await counters(svc, "l", "12345")
    assert line["transfer:police"] == 1
    assert line["calls"] == 1


async def test_spoken_emergency_word_and_failed_transfer_falls_back_to_pool(
        phone: Phone, svc: Services) -> None:
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12345")
    action = root.find("Gather").get("action")  # type: ignore[union-attr]
    root = await phone.twiml(action or "", CallSid="CA1", From=CALLER, SpeechResult="我家着火了")
    assert dial_target(root) == ("Number", "119")
    dial_action = root.find("Dial").get("action")  # type: ignore[union-attr]
    root = await phone.twiml(dial_action or "", CallSid="CA1", DialCallStatus="busy")
    assert verbs(root)[-1] == "Redirect", "a failed transfer goes on to the pool"
    assert (await call_state(svc, "CA1"))["st"] == "waiting"


async def test_wrong_key_reprompts_then_falls_back(phone: Phone) -> None:
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12345")
    action = root.find("Gather").get("action")  # type: ignore[union-attr]
    root = await phone.twiml(action or "", CallSid="CA1", Digits="7")
    assert verbs(root) == ["Gather", "Redirect"]
    assert "有误" in says(root)[0]
    action = root.find("Gather").get("action")  # type: ignore[union-attr]
    root = await phone.twiml(action or "", CallSid="CA1", Digits="8")
    assert verbs(root)[-1] == "Redirect"
    assert "/voice/wait" in (root.find("Redirect").text or "")  # type: ignore[union-attr]


async def test_sub_center_uses_own_seats(phone: Phone, svc: Services) -> None:
    await phone.seat("p01", "login")
    await phone.seat("s12366-1", "login")
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12366")
    assert verbs(root) == ["Say", "Redirect"]
    assert "税务" in says(root)[0]
    root = await follow(phone, root, CallSid="CA1", From=CALLER)
    assert dial_target(root) == ("Client", "s12366-1")


async def test_sub_center_overflows_when_no_seat_is_logged_in(phone: Phone,
                                                              svc: Services) -> None:
    await phone.seat("p05", "login")
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12366")
    root = await follow(phone, root, CallSid="CA1", From=CALLER)
    assert dial_target(root) == ("Client", "p05"), "overflowed: any pool seat may answer"
    c = await call_state(svc, "CA1")
    assert (c["q"], c["oq"], c["sk"]) == ("pool", "sub-12366", "any")
    assert (await counters(svc, "q", "sub-12366"))["overflow_out"] == 1
    assert (await counters(svc, "q", "pool"))["overflow_in"] == 1


async def test_sub_center_overflows_after_its_wait(phone: Phone, svc: Services,
                                                   clock: ManualClock) -> None:
    await phone.seat("s12366-1", "login")
    for sid in ("CA1", "CA2"):  # CA1 takes the seat, CA2 waits
        root = await phone.twiml("/voice/incoming", CallSid=sid, From=CALLER, To="12366")
        await follow(phone, root, CallSid=sid, From=CALLER)
    assert (await call_state(svc, "CA2"))["q"] == "sub-12366"
    clock.advance(59)
    await sweep_once(svc)
    assert (await call_state(svc, "CA2"))["q"] == "sub-12366"
    clock.advance(1)
    await sweep_once(svc)
    c = await call_state(svc, "CA2")
    assert (c["q"], c["oq"], c["st"]) == ("pool", "sub-12366", "waiting")


async def test_unknown_number_gets_apology_and_pool(phone: Phone, svc: Services) -> None:
    root = await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="+8699999")
    assert verbs(root)[0] == "Say"
    assert "暂未开通" in says(root)[0]
    await follow(phone, root, CallSid="CA1", From=CALLER)
    c = await call_state(svc, "CA1")
    assert (c["q"], c["ln"], c["sk"]) == ("pool", "unknown", "any")


async def test_caller_hanging_up_while_waiting_is_abandoned_with_wait(
        phone: Phone, svc: Services, clock: ManualClock) -> None:
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    clock.advance(42)
    await phone.twiml("/voice/status", CallSid="CA1", CallStatus="completed")
    c = await call_state(svc, "CA1")
    assert (c["st"], c["out"], c["wait"]) == ("ended", "abandoned", "42000")
    q = await counters(svc, "q", "pool")
    assert q["abandoned"] == 1
    assert q["wait_abandoned_ms"] == 42000
    assert q["wb:45"] == 1
    assert await violations(svc.store().redis, svc.store().keys) == []


async def test_no_answer_puts_seat_on_break_and_call_back_at_head(
        phone: Phone, svc: Services, clock: ManualClock) -> None:
    await phone.seat("p01", "login")
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")  # -> p01
    clock.advance(5)
    await phone.twiml("/voice/incoming", CallSid="CA2", From=CALLER, To="12328")  # waits
    clock.advance(20)
    root = await phone.twiml("/voice/dial-done?seat=p01", CallSid="CA1",
                             DialCallStatus="no-answer", DialCallDuration="0")
    assert verbs(root)[-1] == "Redirect"
    assert (await svc.store().seat_info("p01"))["st"] == "break"
    await phone.seat("p02", "login")  # the next seat takes CA1 first: it is back at the head
    assert (await call_state(svc, "CA1"))["seat"] == "p02"
    assert (await call_state(svc, "CA2"))["st"] == "waiting"
    assert (await counters(svc, "q", "pool"))["noanswer"] == 1


async def test_call_without_final_status_callback_is_ended_as_stale(
        phone: Phone, svc: Services, clock: ManualClock) -> None:
    await phone.seat("p01", "login")
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")  # -> p01
    await phone.twiml("/voice/seat-answered?call=CA1&seat=p01", CallSid="CAleg1")
    clock.advance(svc.settings.stale_call_seconds - 1)
    await phone.twiml("/voice/incoming", CallSid="CA2", From=CALLER, To="12328")  # waits
    await phone.seat("p02", "login")  # takes CA2
    await phone.twiml("/voice/seat-answered?call=CA2&seat=p02", CallSid="CAleg2")
    await sweep_once(svc)
    assert (await call_state(svc, "CA1"))["st"] == "talking"
    clock.advance(2)
    await sweep_once(svc)
    c = await call_state(svc, "CA1")
    assert (c["st"], c["out"]) == ("ended", "stale")
    seat = await svc.store().seat_info("p01")
    assert seat["st"] == "ready", "the seat is freed"
    assert seat["call"] == "", "the seat is freed"
    assert (await call_state(svc, "CA2"))["st"] == "talking", "only calls past the limit"
    assert await violations(svc.store().redis, svc.store().keys) == []


async def test_waiting_caller_who_stopped_polling_is_ended_and_takes_no_seat(
        phone: Phone, svc: Services, clock: ManualClock) -> None:
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    await phone.twiml("/voice/incoming", CallSid="CA2", From=CALLER, To="12328")
    for _ in range(12):  # CA2 keeps polling its hold loop; CA1's hang-up was never reported
        clock.advance(10)
        await phone.twiml("/voice/wait", CallSid="CA2")
        await sweep_once(svc)
    c = await call_state(svc, "CA1")
    assert (c["st"], c["out"]) == ("ended", "lost")
    assert (await call_state(svc, "CA2"))["st"] == "waiting"
    await phone.seat("p01", "login")
    assert (await call_state(svc, "CA2"))["seat"] == "p01", "the seat goes to the live caller"
    q = await counters(svc, "q", "pool")
    assert q["lost"] == 1
    assert q["abandoned"] == 1
