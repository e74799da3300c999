"""``<Dial>`` as Twilio runs it: ring the nouns, bridge the first to answer, report back.

Callbacks, in Twilio's order: the answered noun's ``statusCallback`` (events it asked
for with ``statusCallbackEvent``: ``answered``, ``completed``; parameters of the child
leg with ``ParentCallSid``), then the ``action`` URL with ``DialCallStatus``,
``DialCallSid`` and ``DialCallDuration``, whose TwiML continues the call. Without an
``action`` the document goes on with the next verb.

When the caller hangs up during the dial, the ``action`` URL is still requested (with
``CallStatus=completed`` and ``DialCallStatus`` ``completed`` after an answer, else
``canceled``) and its TwiML is ignored; a REST redirect ends the dial without one.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from ivr.phone import twiml
from ivr.phone.switchboard import Endpoint, Offer, Pickup, Refuse, new_sid

if TYPE_CHECKING:
    from ivr.phone.call import CallSession, Next


class Flow(enum.Enum):
    """How the document goes on after a ``<Dial>`` that returns no next request."""

    CONTINUE = "continue"  # no action URL: next verb
    STOP = "stop"  # the caller hung up or a redirect came: the call loop decides


CONTINUE = Flow.CONTINUE
STOP = Flow.STOP


async def child_callback(call: CallSession, noun: twiml.Noun, event: str, child: str,
                         status: str, duration: float | None = None) -> None:
    """Post the dialed leg's status callback, if the noun asked for this event."""
    if not noun.status_callback or event not in noun.events:
        return
    extra = {"CallSid": child, "ParentCallSid": call.sid, "CallStatus": status,
             "Direction": "outbound-dial", "To": noun.address, "Called": noun.address}
    if duration is not None:
        extra["CallDuration"] = str(round(duration))
    await call.post(noun.status_callback, call.callback_params(**extra),
                    noun.callback_method, what=f"dial {event} callback")


def _action(d: twiml.Dial, status: str, child: str, duration: float | None) -> dict[str, str]:
    extra = {"DialCallStatus": status, "DialCallSid": child}
    if duration is not None:
        extra["DialCallDuration"] = str(round(duration))
        extra["DialBridged"] = "true"
    return extra


async def _after(call: CallSession, d: twiml.Dial, status: str, child: str,
                 duration: float | None) -> Next | Flow:
    call.emit("dial-end", status=status, duration=duration)
    if not d.action:
        return CONTINUE
    return (d.action, d.method, _action(d, status, child, duration))


async def _caller_left(call: CallSession, d: twiml.Dial, status: str, child: str,
                       duration: float | None) -> Flow:
    call.emit("dial-end", status=status, duration=duration, caller_hung_up=True)
    if d.action:
        params = call.params(**_action(d, status, child, duration), CallStatus="completed")
        await call.post(d.action, params, d.method, what="dial action (caller gone)")
    return STOP


async def dial(call: CallSession, d: twiml.Dial) -> Next | Flow:
    """Run a ``<Dial>``: the next request, CONTINUE, or STOP."""
    child = new_sid()
    now = call.runtime.now()
    rung: list[tuple[twiml.Noun, Endpoint, Offer, Pickup | Refuse]] = []
    for noun in d.nouns:
        ep = call.board.lookup(noun.endpoint)
        offer = Offer(call.sid, child, noun.endpoint, d.caller_id or call.spec.from_, now)
        rung.append((noun, ep, offer, ep.ring(offer)))
    if call.wants("dial"):
        call.emit("dial", to=[n.endpoint for n in d.nouns], timeout=d.timeout, child=child)
    takers = [r for r in rung if isinstance(r[3], Pickup) and r[3].after < d.timeout]
    takers.sort(key=lambda r: r[3].after if isinstance(r[3], Pickup) else 0.0)
    refusals = {r[3].status for r in rung if isinstance(r[3], Refuse)}
    if takers:
        ring_for = takers[0][3].after if isinstance(takers[0][3], Pickup) else 0.0
        status = "completed"
    elif refusals and refusals <= {"busy", "failed"} and len(refusals) == len(rung):
        ring_for, status = 0.0, sorted(refusals)[0]
    else:
        ring_for, status = d.timeout, "no-answer"
    if not await call.wait(ring_for):
        for _, ep, offer, _ in rung:
            ep.missed(offer, "canceled")
        if call.signal.hangup:
            return await _caller_left(call, d, "canceled", child, None)
        call.emit("dial-end", status="canceled", duration=None, redirected=True)
        return STOP
    if not takers:
        for _, ep, offer, _ in rung:
            ep.missed(offer, status)
        return await _after(call, d, status, child, None)
    noun, ep, offer, pick = takers[0]
    for _, other, other_offer, _ in rung:
        if other is not ep or other_offer is not offer:
            other.missed(other_offer, "canceled")
    ep.answered(offer)
    call.emit("answered", endpoint=noun.endpoint, ring=ring_for, child=child)
    await child_callback(call, noun, "answered", child, "in-progress")
    talk = pick.talk if isinstance(pick, Pickup) and pick.talk is not None else d.time_limit
    start = call.runtime.now()
    finished = await call.wait(min(talk, d.time_limit))
    duration = call.runtime.now() - start
    by = "far" if finished else ("caller" if call.signal.hangup else "redirect")
    ep.ended(offer, duration, by)
    call.emit("talk-end", endpoint=noun.endpoint, seconds=duration, by=by)
    await child_callback(call, noun, "completed", child, "completed", duration)
    if call.signal.hangup:
        return await _caller_left(call, d, "completed", child, duration)
    if not finished:
        return STOP
    return await _after(call, d, "completed", child, duration)
