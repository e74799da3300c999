"""Voice webhooks for the call path: arrival, menus, hold loop, seat, end.

Handlers translate a webhook into core steps and ACD calls and answer a call document;
the plumbing (dialect, signature, parsing, apology on any failure) is in ``hooks.py``.
"""

from __future__ import annotations

from ivr.core import engine, states
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
from ivr.core.ids import is_ident
from ivr.core.numbers import UNKNOWN_LINE, Line, caller_id_for, caller_key, mask
from ivr.core.policy import (
    AfterDial,
    Closed,
    Connect,
    Goodbye,
    Hold,
    JoinRoom,
    Standing,
    Survey,
    admit,
    after_dial,
    hold_turn,
)
from ivr.core.waiting import RATE_LIMITED, THANKS, in_language, pick
from ivr.store.results import DialDone
from ivr.telephony import compose, turns
from ivr.telephony import doc as d
from ivr.web.hooks import Hook, VoiceRouter, apology
from ivr.web.services import FINAL_STATUSES, Services

voice = VoiceRouter()
router = voice.router
ANSWERED = ("completed", "answered")


def context(svc: Services) -> engine.Context:
    """What the flow engine may need: the time and the schedules."""
    return engine.Context(svc.clock.now(), svc.config.roster.schedules)


def _gather_url(svc: Services, hook: Hook, line_id: str, pos: Position) -> str:
    return svc.url(hook.path("/gather"), ln=line_id, f=pos.flow, r=pos.rev, n=pos.node, t=pos.tries,
                   lg=pos.lang)


def _speakable(svc: Services, actions: tuple[Action, ...]) -> list[Action]:
    """Exclusion notices as the plan's text; queue and transfer left to their renderers."""
    out: list[Action] = []
    for a in actions:
        if isinstance(a, ExclusionAction):
            excl = svc.config.plan.exclusions[a.topic]
            out.append(SayAction(in_language(excl.text, excl.text_en, a.language), a.language))
        elif not isinstance(a, EnqueueAction | TransferAction):
            out.append(a)
    return out


def _number(svc: Services, hook: Hook) -> str:
    """The caller's number in one spelling, for the repeated-call limit."""
    return caller_key(hook.param("From"), svc.config.plan.area_code)


def _refused(st: str, lang: str) -> d.Doc | None:
    """The answer for a call the ACD will not take: over the repeated-call limit, or over."""
    if st == states.LIMITED:
        return _limited(lang)
    if st == states.ENDED:  # its end arrived before this webhook: the call stays ended
        return turns.hang_up()
    return None


async def run_step(svc: Services, line: Line, line_id: str, step: Step, hook: Hook) -> d.Doc:
    """Carry out one flow step: record it in the ACD and build its document."""
    sid, caller, number = hook.param("CallSid"), hook.param("From"), _number(svc, hook)
    if not sid:
        return apology(svc, hook)
    acd = svc.store()
    lang = step.language or svc.config.flows.latest(line.flow).language
    last = step.actions[-1]
    lead = compose.steps(_speakable(svc, step.actions[:-1]))
    if isinstance(last, EnqueueAction):
        if len(lead.verbs):
            # say the notice first; the call joins the queue when it has been heard, so
            # the notice holds no seat and does not count as waiting
            began = await acd.begin(sid, line_id, mask(caller), number, hook.dialect)
            refused = _refused(began.state, lang)
            if refused:
                return refused
            return lead.then(*turns.go_to(svc.url(
                hook.path("/queue"), ln=line_id, q=last.queue, sk=last.skill, pr=last.priority,
                lg=lang, wd="" if last.widen_after is None else str(last.widen_after))).verbs)
        return await enqueue(svc, hook, line_id, last, lang, lead, number)
    if isinstance(last, TransferAction):
        target = svc.config.plan.targets[last.target]
        await acd.note(sid, "transfer", last.target, line_id, mask(caller))
        fb = last.fallback
        url = svc.url(hook.path("/transfer-done"), target=last.target, ln=line_id,
                      f=fb.flow if fb else "", r=fb.rev if fb else "", n=fb.node if fb else "",
                      lg=fb.lang if fb else "")
        return lead.then(*compose.dial_target(
            target.number, target.address(), url,
            caller_id_for(target, caller, svc.settings.callback_from)).verbs)
    for a in step.actions:
        if isinstance(a, ExclusionAction):
            await acd.note(sid, "exclusion", a.topic, line_id, mask(caller))
    began = await acd.begin(sid, line_id, mask(caller), number, hook.dialect)
    refused = _refused(began.state, lang)
    if refused:
        return refused
    gather_url = _gather_url(svc, hook, line_id, step.position) if step.position else None
    return compose.steps(_speakable(svc, step.actions), gather_url)


async def enqueue(svc: Services, hook: Hook, line_id: str, action: EnqueueAction, lang: str,
                  r: d.Doc, number: str = "") -> d.Doc:
    """Queue the call, honouring the queue's opening hours; one Redis round trip."""
    sid, caller = hook.param("CallSid"), mask(hook.param("From"))
    roster = svc.config.roster
    join = admit(roster.queue(action.queue), action, roster.schedules, svc.clock.now())
    if isinstance(join, Closed):
        await svc.store().note(sid, "closed", join.queue, line_id, caller)
        return r.then(*turns.goodbye(join, lang).verbs)
    res = await svc.store().enqueue(sid, line_id, join.action, caller, lang, join.closed_from,
                                    number=number or _number(svc, hook), dialect=hook.dialect)
    refused = _refused(res.state, lang)
    if refused:
        return refused
    return connect_or_hold(svc, hook, sid, res, lang, r, 0, 0, offer_now=join.offer_callback)


def _limited(lang: str) -> d.Doc:
    """Repeated calls from one number within seconds (robocalls): a short notice, then end."""
    return compose.bye(pick(RATE_LIMITED, lang), lang)


def connect_or_hold(svc: Services, hook: Hook, sid: str, res: Standing, lang: str, r: d.Doc,
                    loop: int, last_pos: int, offer_now: bool = False) -> d.Doc:
    """Dial the reserved seat, or play one turn of the hold loop, or end the call."""
    turn = hold_turn(res, svc.config.roster, lang, loop, last_pos, offer_now)
    return r.then(*answer(svc, hook, sid, lang, turn).verbs)


def answer(svc: Services, hook: Hook, sid: str, lang: str, turn: AfterDial) -> d.Doc:
    """The document for a call-path action of the core: the URLs it points back to."""
    if isinstance(turn, Connect):
        return turns.connect(turn, svc.url(hook.path("/dial-done"), call=sid, seat=turn.seat,
                                           lang=lang),
                             svc.url(hook.path("/seat-answered"), call=sid, seat=turn.seat))
    if isinstance(turn, Hold):
        offer = svc.url(hook.path("/callback-offer"), lang=lang) if turn.offer else None
        return turns.hold(turn, lang, svc.url(hook.path("/wait"), lang=lang, loop=turn.loop,
                                              pos=turn.position),
                          offer, svc.settings.hold_music_url, svc.settings.hold_loop_seconds)
    if isinstance(turn, Goodbye):
        return turns.goodbye(turn, lang)
    if isinstance(turn, Survey):
        return turns.survey(turn, svc.url(hook.path("/survey"), call=sid, lang=lang), lang)
    if isinstance(turn, JoinRoom):
        return turns.join_room(turn)
    return d.Doc()  # talking: nothing to add


@voice.post("/incoming", "A call arrives (the number's Voice URL)")
async def incoming(svc: Services, hook: Hook) -> d.Doc:
    """Route a new call by its dialed number and start its flow."""
    cfg = svc.config
    line, known = svc.line_for(hook.param("To"))
    if known:
        return await run_step(svc, line, line.number, svc.first_step(line), hook)
    lang = cfg.flows.latest(line.flow).language
    notice = [SayAction(cfg.plan.unknown_notice, lang)] if cfg.plan.unknown_notice else []
    step = Step((*notice, EnqueueAction(line.queue, "any", 0, None)), None, "queue", lang)
    return await run_step(svc, line, UNKNOWN_LINE, step, hook)


@voice.post("/gather", "The caller answered (or not) a menu")
async def gather(svc: Services, hook: Hook) -> d.Doc:
    """Resume the flow at the menu with the caller's digits or speech."""
    cfg = svc.config
    ln, f = hook.arg("ln"), hook.arg("f")
    line = cfg.line(ln) or cfg.line_for(ln)[0]
    if f not in cfg.flows.revisions:
        return await run_step(svc, line, ln or line.number, engine.start(cfg.flows, line, context(svc)), hook)
    if hook.param("Digits"):
        event = Event("digits", hook.param("Digits"))
    elif hook.param("SpeechResult"):
        event = Event("speech", hook.param("SpeechResult"))
    else:
        event = engine.NO_INPUT
    pos = Position(f, hook.arg_int("r", 1), hook.arg("n"), hook.arg_int("t", 0), hook.arg("lg"))
    step = engine.resume(cfg.flows, line, pos, event, context(svc))
    return await run_step(svc, line, ln or line.number, step, hook)


@voice.post("/queue", "Join a queue after a notice")
async def queue(svc: Services, hook: Hook) -> d.Doc:
    """Queue the call once the notice before it has been played."""
    q = hook.arg("q")
    if not hook.param("CallSid") or q not in {x.id for x in svc.config.roster.queues}:
        return apology(svc, hook)
    wd = hook.arg("wd")
    try:
        widen = float(wd) if wd else None
    except ValueError:
        widen = None
    skill = hook.arg("sk", "any") if is_ident(hook.arg("sk", "any")) else "any"
    action = EnqueueAction(q, skill, min(9, max(0, hook.arg_int("pr", 0))), widen)
    return await enqueue(svc, hook, hook.arg("ln"), action, hook.arg("lg", "zh-CN"), d.Doc())


@voice.post("/wait", "One turn of the hold loop")
async def wait(svc: Services, hook: Hook) -> d.Doc:
    """Connect the caller if a seat was reserved, else tell the position and hold."""
    sid = hook.param("CallSid")
    if not sid:
        return apology(svc, hook)
    res = await svc.store().wait(sid)
    return connect_or_hold(svc, hook, sid, res, hook.arg("lang", "zh-CN"), d.Doc(),
                           hook.arg_int("loop", 0), hook.arg_int("pos", 0))


@voice.post("/seat-answered", "A seat picked up (Dial noun status callback)", event=True)
async def seat_answered(svc: Services, hook: Hook) -> d.Doc:
    """Record that the seat answered; the call is now talking."""
    sid, seat = hook.arg("call") or hook.param("ParentCallSid"), hook.arg("seat")
    if sid and seat:
        await svc.event("answered", sid, seat, hook.param("CallSid"))
    return d.Doc()


@voice.post("/dial-done", "The dial to a seat ended (Dial action)", event=True)
async def dial_done(svc: Services, hook: Hook) -> d.Doc:
    """After a seat's call: the survey, or back to the head of the line on no answer."""
    sid, seat, lang = hook.arg("call") or hook.param("CallSid"), hook.arg("seat"), hook.arg("lang", "zh-CN")
    if not sid or not seat:
        return apology(svc, hook)
    dial_status = hook.param("DialCallStatus") or "failed"
    if hook.param("CallStatus") in FINAL_STATUSES and dial_status not in ANSWERED:
        # the caller hung up while the seat rang: an abandon, not the seat's miss
        await svc.event("hangup", sid, hook.param("CallStatus"), "")
        return d.Doc()
    kept = await svc.event("dial_done", *svc.store().dial_done_args(
        sid, seat, dial_status, hook.param_int("DialCallDuration")))
    if not isinstance(kept, DialDone):  # Redis is away; the event is kept for later
        if dial_status in ANSWERED:  # the talk is over: say goodbye, not the apology
            return bye(pick(THANKS, lang), lang)
        return apology(svc, hook)
    turn = after_dial(kept.next, kept.standing, svc.config.roster, sid, lang, svc.settings.survey)
    return answer(svc, hook, sid, lang, turn)


@voice.post("/transfer-done", "A transfer ended (Dial action)")
async def transfer_done(svc: Services, hook: Hook) -> d.Doc:
    """After a transfer: hang up if it connected, else continue at the fallback node."""
    if hook.param("DialCallStatus") in ("completed", "answered"):
        return turns.hang_up()
    cfg = svc.config
    ln, f, n = hook.arg("ln"), hook.arg("f"), hook.arg("n")
    line = cfg.line(ln) or cfg.line_for(ln)[0]
    if f in cfg.flows.revisions and n:
        pos = Position(f, hook.arg_int("r", 1), n, 0, hook.arg("lg"))
        step = engine.resume(cfg.flows, line, pos, engine.NO_INPUT, context(svc))
        return await run_step(svc, line, ln or line.number, step, hook)
    return apology(svc, hook)


@voice.post("/status", "Call status callback (set on the number)", event=True)
async def status(svc: Services, hook: Hook) -> d.Doc:
    """Record the end of a call: abandoned while waiting, answered, or ended in the IVR."""
    sid, call_status = hook.param("CallSid"), hook.param("CallStatus")
    if sid and call_status in FINAL_STATUSES:
        await svc.event("hangup", sid, call_status, "")
    return d.Doc()


def bye(text: str, lang: str) -> d.Doc:
    """Say one thing and end the call."""
    return compose.bye(text, lang)
