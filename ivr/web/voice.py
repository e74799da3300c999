"""Twilio voice webhooks for the call path: arrival, menus, hold loop, seat, end.

Handlers translate a webhook into core steps and ACD calls and answer TwiML; the
plumbing (signature, parsing, apology on any failure) is in ``twilio.py``.
"""

from __future__ import annotations

from typing import Any

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.core import engine
from ivr.core.engine import (
    Action,
    EnqueueAction,
    Event,
    ExclusionAction,
    Position,
    SayAction,
    Step,
    TransferAction,
)
from ivr.core.hours import is_open
from ivr.core.ids import is_ident
from ivr.core.numbers import Line, caller_key, mask
from ivr.core.waiting import (
    CALLBACK_OFFER,
    RATE_LIMITED,
    SURVEY,
    THANKS,
    announcement,
    estimate_wait_seconds,
    pick,
)
from ivr.telephony import twiml
from ivr.web.services import FINAL_STATUSES, Services
from ivr.web.twilio import Hook, TwilioRouter

voice = TwilioRouter()
router = voice.router
ANSWERED = ("completed", "answered")
ANNOUNCE_EVERY = 6  # hold loops between repeated announcements of an unchanged position


def context(svc: Services) -> engine.Context:
    """What the flow engine may need: the time and the schedules."""
    return engine.Context(svc.clock.now(), svc.config.roster.schedules)


def _gather_url(svc: Services, line_id: str, pos: Position) -> str:
    return svc.url("/voice/gather", ln=line_id, f=pos.flow, r=pos.rev, n=pos.node, t=pos.tries,
                   lg=pos.lang)


def _speakable(svc: Services, actions: tuple[Action, ...]) -> list[Action]:
    """Exclusion notices as the plan's text; queue and transfer left to their renderers."""
    out: list[Action] = []
    for a in actions:
        if isinstance(a, ExclusionAction):
            excl = svc.config.plan.exclusions[a.topic]
            text = excl.text_en if a.language.startswith("en") and excl.text_en else excl.text
            out.append(SayAction(text, a.language))
        elif not isinstance(a, EnqueueAction | TransferAction):
            out.append(a)
    return out


def _number(svc: Services, hook: Hook) -> str:
    """The caller's number in one spelling, for the repeated-call limit."""
    return caller_key(hook.p("From"), svc.config.plan.area_code)


def _refused(st: object, lang: str) -> VoiceResponse | None:
    """TwiML for a call the ACD will not take: over the repeated-call limit, or already over."""
    if st == "limited":
        return _limited(lang)
    if st == "ended":  # its end arrived before this webhook: the call stays ended
        r = VoiceResponse()
        r.hangup()
        return r
    return None


async def run_step(svc: Services, line: Line, line_id: str, step: Step, hook: Hook) -> VoiceResponse:
    """Carry out one flow step: record it in the ACD and render its TwiML."""
    sid, caller, number = hook.p("CallSid"), hook.p("From"), _number(svc, hook)
    if not sid:
        return twiml.apology(svc.settings.backup_number)
    acd = svc.store()
    lang = step.language or svc.config.flows.latest(line.flow).language
    last = step.actions[-1]
    lead = twiml.render(_speakable(svc, step.actions[:-1]))
    if isinstance(last, EnqueueAction):
        if len(lead.verbs):
            # say the notice first; the call joins the queue when it has been heard, so
            # the notice holds no seat and does not count as waiting
            refused = _refused((await acd.begin(sid, line_id, mask(caller), number)).get("st"), lang)
            if refused:
                return refused
            lead.redirect(svc.url("/voice/queue", ln=line_id, q=last.queue, sk=last.skill,
                                  pr=last.priority, lg=lang,
                                  wd="" if last.widen_after is None else str(last.widen_after)),
                          method="POST")
            return lead
        return await enqueue(svc, hook, line_id, last, lang, lead)
    if isinstance(last, TransferAction):
        target = svc.config.plan.targets[last.target]
        await acd.note(sid, "transfer", last.target, line_id, mask(caller))
        fb = last.fallback
        url = svc.url("/voice/transfer-done", target=last.target, ln=line_id,
                      f=fb.flow if fb else "", r=fb.rev if fb else "", n=fb.node if fb else "",
                      lg=fb.lang if fb else "")
        return twiml.dial_target(target.dial or target.number, url, caller or None, lead)
    for a in step.actions:
        if isinstance(a, ExclusionAction):
            await acd.note(sid, "exclusion", a.topic, line_id, mask(caller))
    refused = _refused((await acd.begin(sid, line_id, mask(caller), number)).get("st"), lang)
    if refused:
        return refused
    gather_url = _gather_url(svc, line_id, step.position) if step.position else None
    return twiml.render(_speakable(svc, step.actions), gather_url)


async def enqueue(svc: Services, hook: Hook, line_id: str, action: EnqueueAction, lang: str,
                  r: VoiceResponse) -> VoiceResponse:
    """Queue the call, honouring the queue's opening hours; one Redis round trip."""
    sid, caller = hook.p("CallSid"), mask(hook.p("From"))
    queue = svc.config.roster.queue(action.queue)
    closed_from = ""
    schedule = svc.config.roster.schedules.get(queue.hours or "")
    closed = schedule is not None and not is_open(schedule, svc.clock.now())
    if closed and queue.when_closed == "message":
        await svc.store().note(sid, "closed", queue.id, line_id, caller)
        r.say(queue.closed_text, language=lang)
        r.hangup()
        return r
    if closed and queue.when_closed == "overflow" and queue.overflow:
        closed_from, action = queue.id, EnqueueAction(queue.overflow.to, "any",
                                                      action.priority, action.widen_after)
    res = await svc.store().enqueue(sid, line_id, action, caller, lang, closed_from,
                                    number=_number(svc, hook))
    refused = _refused(res.get("st"), lang)
    if refused:
        return refused
    res["sid"] = sid
    await svc.redirect(res.get("redirect", []))
    return connect_or_hold(svc, res, lang, r, 0, 0,
                           offer_now=closed and queue.when_closed == "callback")


def _limited(lang: str) -> VoiceResponse:
    """Repeated calls from one number within seconds (robocalls): a short notice, then end."""
    r = VoiceResponse()
    r.say(pick(RATE_LIMITED, lang), language=lang)
    r.hangup()
    return r


def connect_or_hold(svc: Services, res: dict[str, Any], lang: str, r: VoiceResponse,
                    loop: int, last_pos: int, offer_now: bool = False) -> VoiceResponse:
    """Dial the reserved seat, or play one turn of the hold loop, or end the call."""
    st = res.get("st")
    sid = str(res.get("sid", ""))
    if st == "offered":
        seat = str(res["seat"])
        return twiml.dial_seat(
            str(res["ep"]), seat, int(res["ring"]) // 1000,
            svc.url("/voice/dial-done", call=sid, seat=seat, lang=lang),
            svc.url("/voice/seat-answered", call=sid, seat=seat), r=r)
    if st == "waiting":
        pos = int(res["pos"])
        text = None
        if pos != last_pos or loop % ANNOUNCE_EVERY == 0:
            eta = estimate_wait_seconds(pos, int(res["logged"]), float(res["aht"]))
            text = announcement(pos, eta, lang)
        url = svc.url("/voice/wait", lang=lang, loop=loop + 1, pos=pos)
        queue = next((q for q in svc.config.roster.queues if q.id == res.get("q")), None)
        policy = queue.callback if queue else None
        if policy and not res.get("cb") and (
                offer_now or float(res.get("waited", 0)) >= policy.offer_after_seconds * 1000):
            g = Gather(input="dtmf", num_digits=1, timeout=1, method="POST",
                       action=svc.url("/voice/callback-offer", lang=lang))
            g.say(" ".join(filter(None, [text, pick(CALLBACK_OFFER, lang)])), language=lang)
            twiml.hold_audio(g, svc.settings.hold_music_url, svc.settings.hold_loop_seconds)
            r.append(g)
            r.redirect(url, method="POST")
            return r
        return twiml.hold(text, lang, svc.settings.hold_music_url,
                          svc.settings.hold_loop_seconds, url, r)
    if st != "talking":
        r.hangup()
    return r


@voice.post("/incoming", "A call arrives (the number's Voice URL)")
async def incoming(svc: Services, hook: Hook) -> VoiceResponse:
    """Route a new call by its dialed number and start its flow."""
    cfg = svc.config
    line, known = cfg.line_for(hook.p("To"))
    if known:
        return await run_step(svc, line, line.number, engine.start(cfg.flows, line, context(svc)), hook)
    lang = cfg.flows.latest(line.flow).language
    notice = [SayAction(cfg.plan.unknown_notice, lang)] if cfg.plan.unknown_notice else []
    step = Step((*notice, EnqueueAction(line.queue, "any", 0, None)), None, "queue", lang)
    return await run_step(svc, line, "unknown", step, hook)


@voice.post("/gather", "The caller answered (or not) a menu")
async def gather(svc: Services, hook: Hook) -> VoiceResponse:
    """Resume the flow at the menu with the caller's digits or speech."""
    cfg = svc.config
    ln, f = hook.q("ln"), hook.q("f")
    line = cfg.line(ln) or cfg.line_for(ln)[0]
    if f not in cfg.flows.revisions:
        return await run_step(svc, line, ln or line.number, engine.start(cfg.flows, line, context(svc)), hook)
    if hook.p("Digits"):
        event = Event("digits", hook.p("Digits"))
    elif hook.p("SpeechResult"):
        event = Event("speech", hook.p("SpeechResult"))
    else:
        event = engine.NO_INPUT
    pos = Position(f, hook.qint("r", 1), hook.q("n"), hook.qint("t", 0), hook.q("lg"))
    step = engine.resume(cfg.flows, line, pos, event, context(svc))
    return await run_step(svc, line, ln or line.number, step, hook)


@voice.post("/queue", "Join a queue after a notice")
async def queue(svc: Services, hook: Hook) -> VoiceResponse:
    """Queue the call once the notice before it has been played."""
    q = hook.q("q")
    if not hook.p("CallSid") or q not in {x.id for x in svc.config.roster.queues}:
        return twiml.apology(svc.settings.backup_number)
    wd = hook.q("wd")
    try:
        widen = float(wd) if wd else None
    except ValueError:
        widen = None
    skill = hook.q("sk", "any") if is_ident(hook.q("sk", "any")) else "any"
    action = EnqueueAction(q, skill, min(9, max(0, hook.qint("pr", 0))), widen)
    return await enqueue(svc, hook, hook.q("ln"), action, hook.q("lg", "zh-CN"), VoiceResponse())


@voice.post("/wait", "One turn of the hold loop")
async def wait(svc: Services, hook: Hook) -> VoiceResponse:
    """Connect the caller if a seat was reserved, else tell the position and hold."""
    sid = hook.p("CallSid")
    if not sid:
        return twiml.apology(svc.settings.backup_number)
    res = await svc.store().wait(sid)
    res["sid"] = sid
    return connect_or_hold(svc, res, hook.q("lang", "zh-CN"), VoiceResponse(),
                           hook.qint("loop", 0), hook.qint("pos", 0))


@voice.post("/seat-answered", "A seat picked up (Dial noun status callback)", event=True)
async def seat_answered(svc: Services, hook: Hook) -> VoiceResponse:
    """Record that the seat answered; the call is now talking."""
    sid, seat = hook.q("call") or hook.p("ParentCallSid"), hook.q("seat")
    if sid and seat:
        await svc.event("answered", sid, seat, hook.p("CallSid"))
    return twiml.empty()


@voice.post("/dial-done", "The dial to a seat ended (Dial action)", event=True)
async def dial_done(svc: Services, hook: Hook) -> VoiceResponse:
    """After a seat's call: the survey, or back to the head of the line on no answer."""
    sid, seat, lang = hook.q("call") or hook.p("CallSid"), hook.q("seat"), hook.q("lang", "zh-CN")
    if not sid or not seat:
        return twiml.apology(svc.settings.backup_number)
    dial_status = hook.p("DialCallStatus") or "failed"
    if hook.p("CallStatus") in FINAL_STATUSES and dial_status not in ANSWERED:
        # the caller hung up while the seat rang: an abandon, not the seat's miss
        await svc.event("hangup", sid, hook.p("CallStatus"), "")
        return twiml.empty()
    kept = await svc.event("dial_done", *svc.store().dial_done_args(
        sid, seat, dial_status, hook.pint("DialCallDuration")))
    if kept is None:  # Redis is away; the event is kept and applied when it returns
        if dial_status in ANSWERED:  # the talk is over: say goodbye, not the apology
            return bye(pick(THANKS, lang), lang)
        return twiml.apology(svc.settings.backup_number)
    res = dict(kept)
    res["sid"] = sid
    r = VoiceResponse()
    if res.get("next") == "conference":
        return twiml.conference(f"xfer-{sid}", end_on_exit=True, r=r)
    if res.get("next") == "hangup":
        if svc.settings.survey:
            g = Gather(input="dtmf", num_digits=1, timeout=5, method="POST",
                       action=svc.url("/voice/survey", call=sid, lang=lang))
            g.say(pick(SURVEY, lang), language=lang)
            r.append(g)
        r.hangup()
        return r
    return connect_or_hold(svc, res, lang, r, 0, 0)


@voice.post("/transfer-done", "A transfer ended (Dial action)")
async def transfer_done(svc: Services, hook: Hook) -> VoiceResponse:
    """After a transfer: hang up if it connected, else continue at the fallback node."""
    if hook.p("DialCallStatus") in ("completed", "answered"):
        r = VoiceResponse()
        r.hangup()
        return r
    cfg = svc.config
    ln, f, n = hook.q("ln"), hook.q("f"), hook.q("n")
    line = cfg.line(ln) or cfg.line_for(ln)[0]
    if f in cfg.flows.revisions and n:
        pos = Position(f, hook.qint("r", 1), n, 0, hook.q("lg"))
        step = engine.resume(cfg.flows, line, pos, engine.NO_INPUT, context(svc))
        return await run_step(svc, line, ln or line.number, step, hook)
    return twiml.apology(svc.settings.backup_number)


@voice.post("/status", "Call status callback (set on the number)", event=True)
async def status(svc: Services, hook: Hook) -> VoiceResponse:
    """Record the end of a call: abandoned while waiting, answered, or ended in the IVR."""
    sid, call_status = hook.p("CallSid"), hook.p("CallStatus")
    if sid and call_status in FINAL_STATUSES:
        await svc.event("hangup", sid, call_status, "")
    return twiml.empty()


def bye(text: str, lang: str) -> VoiceResponse:
    """Say one thing and end the call."""
    r = VoiceResponse()
    r.say(text, language=lang)
    r.hangup()
    return r

