"""Voice webhooks of the 12345 service around the call path.

Queued callbacks, the after-call survey, transfers and exclusion notices started by a
seat, and warm transfers through a conference.
"""

from __future__ import annotations

from ivr.core import callback, states
from ivr.core.numbers import caller_id_for
from ivr.core.policy import Goodbye, JoinRoom, Standing, call_back_answered
from ivr.core.waiting import CALLBACK_CONFIRM, THANKS, in_language, pick
from ivr.telephony import compose, turns
from ivr.telephony import doc as d
from ivr.web.hooks import Hook, VoiceRouter, apology
from ivr.web.services import FINAL_STATUSES, Services
from ivr.web.voice import answer, bye

voice = VoiceRouter()
router = voice.router


@voice.post("/callback-offer", "The waiting caller answered the callback offer")
async def callback_offer(svc: Services, hook: Hook) -> d.Doc:
    """Key 1: keep the place in line and hang up; anything else: back to the hold loop."""
    sid, lang = hook.param("CallSid"), hook.arg("lang", "zh-CN")
    if callback.accepts(hook.param("Digits")) and sid and hook.param("From"):
        res = await svc.store().callback_request(sid, hook.param("From"))
        if res.ok:
            return bye(pick(CALLBACK_CONFIRM, lang), lang)
    return turns.go_to(svc.url(hook.path("/wait"), lang=lang))


@voice.post("/callback-connect", "The caller answered our callback")
async def callback_connect(svc: Services, hook: Hook) -> d.Doc:
    """Greet the caller and ring the seat reserved for their place."""
    sid = hook.arg("call")
    res, lang = Standing(states.UNKNOWN), "zh-CN"
    if sid:
        res = await svc.store().wait(sid)
        lang = (await svc.store().call_record(sid)).language or lang
    turn = call_back_answered(res, lang)
    if isinstance(turn, Goodbye):
        return turns.goodbye(turn, lang)
    return turns.say(turn.text, lang).then(*answer(svc, hook, sid, lang, turn.connect).verbs)


@voice.post("/callback-status", "Status callback of a callback attempt")
async def callback_status(svc: Services, hook: Hook) -> d.Doc:
    """An attempt nobody answered: free the seat, retry later or give up after the last."""
    sid = hook.arg("call")
    if sid and hook.param("CallStatus") in FINAL_STATUSES - {"completed"}:
        info = await svc.store().call_record(sid)
        attempts, retry = callback.retry_terms(callback.policy_of(svc.config.roster, info.queue))
        res = await svc.store().callback_failed(sid, attempts, retry)
        await svc.redirect(res.redirect)
    return d.Doc()


@voice.post("/survey", "The caller's rating after the call", event=True)
async def survey(svc: Services, hook: Hook) -> d.Doc:
    """Store 1 satisfied, 2 basically satisfied or 3 dissatisfied, and say goodbye."""
    sid, lang = hook.arg("call") or hook.param("CallSid"), hook.arg("lang", "zh-CN")
    key = hook.param("Digits")[:1]
    if sid and key in ("1", "2", "3"):
        await svc.event("rate", sid, "rating", key)
    return bye(pick(THANKS, lang), lang)


@voice.post("/transfer-out", "A seat transfers its caller (cold)")
async def transfer_out(svc: Services, hook: Hook) -> d.Doc:
    """Dial the transfer target, passing the caller's number on."""
    target = svc.config.plan.targets.get(hook.arg("target"))
    if target is None:
        return apology(svc, hook)
    url = svc.url(hook.path("/transfer-done"), target=hook.arg("target"))
    return compose.dial_target(target.number, target.address(), url,
                               caller_id_for(target, hook.param("From"), svc.settings.callback_from))


@voice.post("/exclusion", "A seat tells its caller where the matter belongs")
async def exclusion(svc: Services, hook: Hook) -> d.Doc:
    """Say the exclusion text (which channel handles the matter) and end the call."""
    excl = svc.config.plan.exclusions.get(hook.arg("topic"))
    lang = hook.arg("lang", "zh-CN")
    if excl is None:
        return apology(svc, hook)
    return bye(in_language(excl.text, excl.text_en, lang), lang)


@voice.post("/conference", "Join a warm-transfer conference")
async def conference(svc: Services, hook: Hook) -> d.Doc:
    """Put this leg (caller, seat or target) into the transfer's conference room."""
    room, sid, seat = hook.arg("room"), hook.arg("call"), hook.arg("seat")
    events = svc.url(hook.path("/conference-event"), call=sid, seat=seat) if sid and seat else None
    return turns.join_room(JoinRoom(room, ends_room=False), events)


@voice.post("/conference-event", "A participant left a warm-transfer conference")
async def conference_event(svc: Services, hook: Hook) -> d.Doc:
    """When the seat's leg leaves, its talk is over: wrap-up."""
    sid, seat = hook.arg("call"), hook.arg("seat")
    if sid and seat and hook.param("StatusCallbackEvent") == "participant-leave":
        info = await svc.store().call_record(sid)
        if info.leg and info.leg == hook.param("CallSid"):
            res = await svc.store().dial_done(sid, seat, "completed", 0)
            await svc.redirect(res.redirect)
    return d.Doc()
