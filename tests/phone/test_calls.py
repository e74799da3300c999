"""Calls through the real app on a virtual clock, as Twilio and the seats would make them."""

from __future__ import annotations

from ivr.phone import twiml
from ivr.phone.call import Input
from ivr.phone.callers import ScriptedCaller, apply_gather_rules
from ivr.phone.switchboard import FarEnd
from ivr.phone.transport import Twilio
from tests.phone.conftest import Rig


async def test_a_rest_redirect_pulls_a_waiting_call_out_of_its_hold_loop(rig: Rig) -> None:
    agent = rig.seat("p01", talk=60.0)
    call = rig.call("12328")
    await rig.start(call.run())
    await rig.run(25.0)
    assert "dial" not in rig.kinds(call.sid)
    assert call.status == "in-progress"
    assert (await rig.state(call.sid))["st"] == "waiting"
    await rig.start(agent.login())  # the seat reserves the call; the service redirects it
    assert rig.ls.control.log == [(call.sid, "https://ivr.local/voice/wait", True)]
    await rig.run()
    (answered,) = rig.of(call.sid, "answered")
    assert answered.data["endpoint"] == "client:p01"
    assert 26.0 <= answered.t - 1_800_000_000 <= 28.0, "connected at once, not at the next loop"
    c = await rig.state(call.sid)
    assert (c["st"], c["out"]) == ("ended", "answered")
    assert int(c["wait"]) == int(answered.t * 1000) - 1_800_000_000_000
    assert call.errors == []
    assert agent.violations == []
    assert await rig.violations() == []


async def test_every_webhook_is_signed_and_answered_with_twiml(rig: Rig) -> None:
    rig.seat("p01", talk=5.0)
    agent = rig.board.lookup("client:p01")
    call = rig.call("12328")
    await rig.start(agent.login(), call.run())  # type: ignore[attr-defined]
    await rig.run()
    requests = rig.of(call.sid, "request")
    # arrival, the seat's answer, the dial's end (survey), the silent survey's own action
    # (a Gather reports an empty result too), the status callback
    assert [e.data["what"] for e in requests] == [
        "webhook", "dial answered callback", "webhook", "webhook", "status"]
    assert {e.data["status"] for e in requests} == {200}
    assert rig.kinds(call.sid)[-2:] == ["end", "request"]


async def test_a_bad_signature_is_an_application_error(rig: Rig) -> None:
    call = rig.call("12345")
    call.twilio = Twilio(rig.ls.transport, "not-the-token")
    await rig.start(call.run())
    await rig.run()
    assert call.hung_up_by == "error"
    assert call.errors
    assert "403" in call.errors[0]
    assert await rig.state(call.sid) == {}, "a refused webhook changes nothing"


async def test_a_caller_who_hangs_up_while_waiting_is_abandoned(rig: Rig) -> None:
    call = rig.call("12328")
    call.hang_up_later(42.0)
    await rig.start(call.run())
    await rig.run()
    c = await rig.state(call.sid)
    assert (c["st"], c["out"], c["wait"]) == ("ended", "abandoned", "42000")
    (status,) = [e for e in rig.of(call.sid, "request") if e.data["what"] == "status"]
    assert status.data["status"] == 200
    assert call.hung_up_by == "caller"


async def test_hanging_up_during_the_talk_ends_it_answered(rig: Rig) -> None:
    agent = rig.seat("p01", talk=None)  # talks until the caller hangs up
    call = rig.call("12328")
    call.hang_up_later(30.0)
    await rig.start(agent.login(), call.run())
    await rig.run(35.0)
    whats = [e.data["what"] for e in rig.of(call.sid, "request")]
    assert whats[-2:] == ["dial action (caller gone)", "status"]
    (end,) = rig.of(call.sid, "talk-end")
    assert end.data["by"] == "caller"
    c = await rig.state(call.sid)
    assert (c["st"], c["out"]) == ("ended", "answered")
    assert await rig.seat_state("p01") == "wrapup"
    await rig.run()
    assert await rig.seat_state("p01") == "ready", "wrap-up ends by itself (swept on time)"
    assert await rig.violations() == []


async def test_a_seat_that_lets_it_ring_out_goes_on_break_and_comes_back(rig: Rig) -> None:
    sleepy = rig.seat("p01", no_answer=1.0, back=30.0)
    awake = rig.seat("p02", talk=20.0)
    call = rig.call("12328")
    await rig.start(sleepy.login())
    await rig.start(awake.login(), call.run())
    await rig.run()
    dials = rig.of(call.sid, "dial")
    assert [d.data["to"] for d in dials] == [["client:p01"], ["client:p02"]]
    assert rig.of(call.sid, "dial-end")[0].data["status"] == "no-answer"
    (answered,) = rig.of(call.sid, "answered")
    assert answered.data["endpoint"] == "client:p02"
    assert sleepy.missed_calls == 1
    assert not sleepy.on_break
    assert await rig.seat_state("p01") == "ready", "the operator went ready again"
    assert (await rig.state(call.sid))["out"] == "answered"
    assert await rig.violations() == []


async def test_a_busy_transfer_target_falls_back_to_the_pool(rig: Rig) -> None:
    rig.board.number = FarEnd("busy")
    agent = rig.seat("p08", talk=10.0)
    call = rig.call("12345", ScriptedCaller([Input(digits="1")]))
    await rig.start(agent.login(), call.run())
    await rig.run()
    dials = [d.data["to"] for d in rig.of(call.sid, "dial")]
    assert dials == [["110"], ["client:p08"]]
    assert rig.of(call.sid, "dial-end")[0].data["status"] == "busy"
    assert (await rig.state(call.sid))["out"] == "answered"


def test_gather_rules_numdigits_finishonkey_and_input_kinds() -> None:
    g = twiml.Gather("https://x/g", num_digits=2, finish_on_key="#",
                     input=frozenset({"dtmf", "speech"}))
    assert apply_gather_rules(g, Input(digits="123")) == Input(digits="12")
    assert apply_gather_rules(g, Input(digits="1#2")) == Input(digits="1")
    assert apply_gather_rules(g, Input(digits="#")) is None
    assert apply_gather_rules(g, Input(speech="着火了")) == Input(speech="着火了")
    dtmf_only = twiml.Gather("https://x/g", input=frozenset({"dtmf"}))
    assert apply_gather_rules(dtmf_only, Input(speech="hello")) is None


async def test_a_caller_hanging_up_while_the_seat_rings_does_not_punish_the_seat(
        rig: Rig) -> None:
    agent = rig.seat("p01", ring=10.0, talk=30.0)  # picks up after 5 to 15 s
    call = rig.call("12328")
    call.hang_up_later(4.0)
    await rig.start(agent.login(), call.run())
    await rig.run(5.0)
    whats = [e.data["what"] for e in rig.of(call.sid, "request")]
    assert whats[-2:] == ["dial action (caller gone)", "status"]
    assert (await rig.state(call.sid))["out"] == "abandoned"
    assert await rig.seat_state("p01") == "ready"


async def test_a_call_builds_only_the_events_its_listeners_read(rig: Rig) -> None:
    rig.seat("p01", talk=5.0)
    agent = rig.board.lookup("client:p01")
    full, lean = rig.call("12328", sid="CA" + "1" * 32), rig.call("12328", sid="CA" + "2" * 32)
    lean.kinds = frozenset({"request", "answered", "end"})
    await rig.start(agent.login(), full.run())  # type: ignore[attr-defined]
    await rig.run()
    await rig.start(lean.run())
    await rig.run()
    everything = rig.kinds(full.sid)
    assert {"say", "menu", "document", "dial"} <= set(everything)
    assert rig.kinds(lean.sid) == [k for k in everything if k in lean.kinds]
    assert not lean.wants("menu")
    assert full.wants("menu")
