"""Twilio voice webhooks: translate Twilio's requests into core steps and ACD calls.

Every handler answers valid TwiML, whatever happens: bad input, unknown numbers,
internal errors and a Redis outage all end in an apology and a dial to the backup
number (``guarded``). Requests whose signature does not check out get 403.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from twilio.twiml.voice_response import VoiceResponse

from ivr.core import engine
from ivr.core.engine import EnqueueAction, Event, PlayAction, Position, SayAction, Step
from ivr.core.numbers import Line, mask
from ivr.core.waiting import announcement, estimate_wait_seconds
from ivr.telephony import twiml
from ivr.web.services import Services, Svc, get_services

log = logging.getLogger("ivr.voice")
router = APIRouter(prefix="/voice", tags=["voice"])
FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
ANNOUNCE_EVERY = 6  # hold loops between repeated announcements of an unchanged position


async def twilio_params(request: Request) -> dict[str, str]:
    """The POST parameters of a request whose Twilio signature is valid; else 403."""
    svc = get_services(request)
    try:
        form = await request.form()
        params = {k: v for k, v in form.items() if isinstance(v, str)}
    except Exception:
        params = {}
    qs = f"?{request.url.query}" if request.url.query else ""
    url = svc.checker.public_url(str(request.url), request.url.path + qs)
    if not svc.checker.valid(url, params, request.headers.get("X-Twilio-Signature")):
        raise HTTPException(403, "invalid or missing X-Twilio-Signature")
    return params


Params = Annotated[dict[str, str], Depends(twilio_params)]


def xml(r: VoiceResponse) -> Response:
    """A TwiML response."""
    return Response(str(r), media_type="application/xml")


Handler = Callable[..., Awaitable[VoiceResponse]]


def guarded(fn: Handler) -> Callable[..., Awaitable[Response]]:
    """Turn any failure of a voice handler into an apology and the backup number."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return xml(await fn(*args, **kwargs))
        except HTTPException:
            raise
        except Exception:
            svc: Services = kwargs["svc"]
            log.exception("voice webhook %s failed; caller sent to the backup number", fn.__name__)
            return xml(twiml.apology(svc.settings.backup_number))

    sig = inspect.signature(fn)
    wrapper.__signature__ = sig.replace(return_annotation=Response)  # type: ignore[attr-defined]
    return wrapper


def _int(value: str, default: int) -> int:
    """Query values are our own, but a webhook must not fail on a mangled one."""
    try:
        return int(value)
    except ValueError:
        return default


def _gather_url(svc: Services, line_id: str, pos: Position) -> str:
    return svc.url("/voice/gather", ln=line_id, f=pos.flow, r=pos.rev, n=pos.node, t=pos.tries)


async def run_step(svc: Services, line: Line, line_id: str, step: Step,
                   p: dict[str, str]) -> VoiceResponse:
    """Carry out one flow step: record it in the ACD and render its TwiML."""
    sid, caller = p.get("CallSid", ""), p.get("From", "")
    if not sid:
        return twiml.apology(svc.settings.backup_number)
    acd = svc.store()
    lead = [a for a in step.actions if isinstance(a, SayAction | PlayAction)]
    last = step.actions[-1]
    lang = svc.config.flows.latest(line.flow).language
    if isinstance(last, EnqueueAction):
        res = await acd.enqueue(sid, line_id, last, mask(caller))
        res["sid"] = sid
        await svc.redirect(res.get("redirect", []))
        return connect_or_hold(svc, res, lang, twiml.render(lead), 0, 0)
    if isinstance(last, engine.TransferAction):
        target = svc.config.plan.targets[last.target]
        await acd.transfer(sid, last.target, line_id)
        fb = last.fallback
        url = svc.url("/voice/transfer-done", target=last.target, ln=line_id,
                      f=fb.flow if fb else "", r=fb.rev if fb else "", n=fb.node if fb else "")
        return twiml.dial_target(target.dial or target.number, url, caller or None,
                                 twiml.render(lead))
    await acd.begin(sid, line_id, mask(caller))
    gather_url = _gather_url(svc, line_id, step.position) if step.position else None
    return twiml.render(step.actions, gather_url)


def connect_or_hold(svc: Services, res: dict[str, Any], lang: str, r: VoiceResponse,
                    loop: int, last_pos: int) -> VoiceResponse:
    """Dial the reserved seat, or play one turn of the hold loop, or end the call."""
    st = res.get("st")
    if st == "offered":
        seat = str(res["seat"])
        return twiml.dial_seat(
            str(res["ep"]), seat, int(res["ring"]) // 1000,
            svc.url("/voice/dial-done", seat=seat, lang=lang),
            svc.url("/voice/seat-answered", call=str(res.get("sid", "")), seat=seat),
            r=r,
        )
    if st == "waiting":
        pos = int(res["pos"])
        text = None
        if pos != last_pos or loop % ANNOUNCE_EVERY == 0:
            eta = estimate_wait_seconds(pos, int(res["logged"]), float(res["aht"]))
            text = announcement(pos, eta, lang)
        url = svc.url("/voice/wait", lang=lang, loop=loop + 1, pos=pos)
        return twiml.hold(text, lang, svc.settings.hold_music_url,
                          svc.settings.hold_loop_seconds, url, r)
    if st != "talking":
        r.hangup()
    return r


@router.post("/incoming", summary="A call arrives (the number's Voice URL)")
@guarded
async def incoming(svc: Svc, p: Params) -> VoiceResponse:
    """Route a new call by its dialed number and start its flow."""
    cfg = svc.config
    line, known = cfg.line_for(p.get("To", ""))
    if known:
        return await run_step(svc, line, line.number, engine.start(cfg.flows, line), p)
    lang = cfg.flows.latest(line.flow).language
    notice = SayAction(cfg.plan.unknown_notice, lang) if cfg.plan.unknown_notice else None
    action = EnqueueAction(line.queue, "any", 0, None)
    step = Step((*([notice] if notice else []), action), None, "queue")
    return await run_step(svc, line, "unknown", step, p)


@router.post("/gather", summary="The caller answered (or not) a menu")
@guarded
async def gather(svc: Svc, p: Params, ln: str = "", f: str = "", r: str = "1", n: str = "",
                 t: str = "0") -> VoiceResponse:
    """Resume the flow at the menu with the caller's digits or speech."""
    cfg = svc.config
    line = cfg.line(ln) or cfg.line_for(ln)[0]
    if f not in cfg.flows.revisions:
        return await run_step(svc, line, ln or line.number, engine.start(cfg.flows, line), p)
    if p.get("Digits"):
        event = Event("digits", p["Digits"])
    elif p.get("SpeechResult"):
        event = Event("speech", p["SpeechResult"])
    else:
        event = engine.NO_INPUT
    step = engine.resume(cfg.flows, line, Position(f, _int(r, 1), n, _int(t, 0)), event)
    return await run_step(svc, line, ln or line.number, step, p)


@router.post("/wait", summary="One turn of the hold loop")
@guarded
async def wait(svc: Svc, p: Params, lang: str = "zh-CN", loop: str = "0",
               pos: str = "0") -> VoiceResponse:
    """Connect the caller if a seat was reserved, else tell the position and hold."""
    sid = p.get("CallSid", "")
    if not sid:
        return twiml.apology(svc.settings.backup_number)
    res = await svc.store().wait(sid)
    res["sid"] = sid
    return connect_or_hold(svc, res, lang, VoiceResponse(), _int(loop, 0), _int(pos, 0))


@router.post("/seat-answered", summary="A seat picked up (Dial noun status callback)")
@guarded
async def seat_answered(svc: Svc, p: Params, call: str = "", seat: str = "") -> VoiceResponse:
    """Record that the seat answered; the call is now talking."""
    sid = call or p.get("ParentCallSid", "")
    if sid and seat:
        await svc.store().answered(sid, seat)
    return twiml.empty()


@router.post("/dial-done", summary="The dial to a seat ended (Dial action)")
@guarded
async def dial_done(svc: Svc, p: Params, seat: str = "", lang: str = "zh-CN") -> VoiceResponse:
    """After a seat's call: end, or back to the head of the line on no answer."""
    sid = p.get("CallSid", "")
    if not sid or not seat:
        return twiml.apology(svc.settings.backup_number)
    duration = _int(p.get("DialCallDuration") or "0", 0)
    res = await svc.store().dial_done(sid, seat, p.get("DialCallStatus", "failed"), duration)
    await svc.redirect(res.get("redirect", []))
    res["sid"] = sid
    if res.get("next") == "hangup":
        r = VoiceResponse()
        r.hangup()
        return r
    return connect_or_hold(svc, res, lang, VoiceResponse(), 0, 0)


@router.post("/transfer-done", summary="A transfer ended (Dial action)")
@guarded
async def transfer_done(svc: Svc, p: Params, target: str = "", ln: str = "", f: str = "",
                        r: str = "1", n: str = "") -> VoiceResponse:
    """After a transfer: hang up if it connected, else continue at the fallback node."""
    status = p.get("DialCallStatus", "")
    if status in ("completed", "answered"):
        out = VoiceResponse()
        out.hangup()
        return out
    cfg = svc.config
    line = cfg.line(ln) or cfg.line_for(ln)[0]
    if f in cfg.flows.revisions and n:
        step = engine.resume(cfg.flows, line, Position(f, _int(r, 1), n), engine.NO_INPUT)
        return await run_step(svc, line, ln or line.number, step, p)
    return twiml.apology(svc.settings.backup_number)


@router.post("/status", summary="Call status callback (set on the number)")
@guarded
async def status(svc: Svc, p: Params) -> VoiceResponse:
    """Record the end of a call: abandoned while waiting, answered, or ended in the IVR."""
    sid, call_status = p.get("CallSid", ""), p.get("CallStatus", "")
    if sid and call_status in FINAL_STATUSES:
        res = await svc.store().hangup(sid, call_status)
        await svc.redirect(res.get("redirect", []))
    return twiml.empty()
