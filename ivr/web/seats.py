"""The seat API for softphones: log in, ready, break, log out, and the current call."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path
from pydantic import BaseModel, Field

from ivr.auth import check_seat_token
from ivr.core.ids import IDENT
from ivr.core.policy import room_of, warm_move
from ivr.store.results import Handoff
from ivr.telephony.rest import CallControl, can_act
from ivr.web.services import Svc

router = APIRouter(prefix="/api/seats", tags=["seats"])
log = logging.getLogger("ivr.seats")
SeatId = Annotated[str, Path(pattern=IDENT, description="The seat's id")]


class CallView(BaseModel):
    """The call a seat has now."""

    sid: str
    line: str
    queue: str
    caller: str
    state: str
    waited_seconds: float | None = None


class SeatView(BaseModel):
    """A seat's state as its softphone sees it."""

    seat: str
    state: str
    call: CallView | None = None


def seat_auth(seat_id: SeatId, svc: Svc, authorization: Annotated[str, Header()] = "") -> str:
    """The seat id, if the bearer token is that seat's; else 401."""
    token = authorization.removeprefix("Bearer ").strip()
    if not token or not check_seat_token(svc.settings.seat_secret, seat_id, token):
        raise HTTPException(401, "a valid seat token is required (Authorization: Bearer ...)")
    return seat_id


AuthedSeat = Annotated[str, Depends(seat_auth)]


async def _view(svc: Svc, seat_id: str) -> SeatView:
    acd = svc.store()
    info = await acd.seat_record(seat_id)
    if not info.known:
        raise HTTPException(404, f"seat {seat_id!r} is not in the roster")
    call = None
    if info.call:
        c = await acd.call_record(info.call)
        waited = c.waited_ms / 1000 if c.waited_ms is not None else None
        call = CallView(sid=info.call, line=c.line, queue=c.queue, caller=c.caller,
                        state=c.state, waited_seconds=waited)
    return SeatView(seat=seat_id, state=info.state, call=call)


@router.get("/{seat_id}", summary="The seat's state and current call")
async def get_seat(seat_id: AuthedSeat, svc: Svc) -> SeatView:
    """What the softphone shows: state and the call it has now."""
    return await _view(svc, seat_id)


class TransferBody(BaseModel):
    """Where to hand the caller: a target of the plan (110, 95598, tianjin, ...)."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"target": "police", "mode": "cold"}, {"target": "electricity", "mode": "warm"}]}}
    target: str = Field(max_length=40)
    mode: Literal["cold", "warm"] = "cold"


class ExclusionBody(BaseModel):
    """Which matter 12345 does not take (numbers/exclusions.yaml)."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"topic": "litigation"}]}}
    topic: str = Field(max_length=40)


class DispositionBody(BaseModel):
    """The seat's record of the call it just finished (during wrap-up)."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"category": "complaint", "resolved": False, "department": "市场监督管理局"}]}}
    category: Literal["question", "help", "complaint", "report", "suggestion"]
    resolved: bool
    department: str = Field("", max_length=80)


class HandoffOut(BaseModel):
    """What happened to the caller."""

    call: str
    action: str


SEAT_ERR: dict[int | str, dict[str, str]] = {
    401: {"description": "not this seat's token"}, 409: {"description": "the seat has no such call"},
    422: {"description": "unknown target or topic"},
    502: {"description": "the telephony platform refused the call to the target"},
    503: {"description": "no telephony REST credentials: hand-offs are not possible"}}


@router.post("/{seat_id}/transfer", summary="Transfer my caller (110/119/120/122, utilities, cities)",
             responses=SEAT_ERR)
async def transfer(seat_id: AuthedSeat, body: TransferBody, svc: Svc) -> HandoffOut:
    """Hand the caller on: cold (seat freed at once) or warm (a conference).

    Cold: the caller is dialed to the target and the seat goes to wrap-up. Warm: caller,
    seat and target meet in a conference; the seat stays until it hangs up.
    """
    target = svc.config.plan.targets.get(body.target)
    if target is None:
        raise HTTPException(422, f"target {body.target!r} is not in the plan")
    warm = body.mode == "warm"
    # Record only what happened: check, do the telephony part, then record the hand-off.
    res = await _handoff(svc, seat_id, "transfer", body.target, warm, commit=False)
    sid = res.sid
    info = await svc.store().call_record(sid)
    dialect = svc.dialect_of(info)  # the call is handed on through its own platform
    control = _control(svc, dialect)
    if not warm:
        res = await _handoff(svc, seat_id, "transfer", body.target, warm)
        await control.redirect(sid, svc.hook_url(dialect, "/transfer-out", target=body.target))
    else:
        # the target is called into the room first (the step that can be refused); then
        # the seat's leg moves to the room, and the caller's <Dial> ends: its action
        # (/voice/dial-done) sees the recorded warm transfer and joins the same room
        room = room_of(sid)
        line = svc.config.line(info.line)
        try:
            await control.create_call(target.dial or target.number,
                                      svc.settings.callback_from or (line.number if line else ""),
                                      svc.hook_url(dialect, "/conference", room=room))
        except Exception as exc:
            log.warning("warm transfer of %s to %s: the call to the target failed: %s",
                        sid, body.target, exc)
            raise HTTPException(502, f"the call to {body.target} could not be placed; the "
                                     "caller stays with you") from exc
        res = await _handoff(svc, seat_id, "transfer", body.target, warm)
        move = warm_move(sid, res.leg)  # the seat's leg, or the caller when it is unknown
        seat_query = {"call": sid, "seat": seat_id} if move.seat_leg else {}
        await control.redirect(move.call, svc.hook_url(dialect, "/conference", room=move.room,
                                                       **seat_query))
    await svc.redirect(res.redirect)
    return HandoffOut(call=sid, action=f"{body.mode} transfer to {body.target}")


def _control(svc: Svc, dialect: str) -> CallControl:
    """The REST API of the call's platform; 503 when that platform has none."""
    control = svc.control_for(dialect)
    if not can_act(control):
        raise HTTPException(503, f"hand-offs of calls on {dialect} need its REST API; set its "
                                 "credentials")
    return control


async def _handoff(svc: Svc, seat_id: str, kind: str, what: str, keep: bool,
                   commit: bool = True) -> Handoff:
    """Check (``commit=False``) or record a hand-off.

    409 if the seat has no call; 503 if this service cannot act on live calls.
    """
    if not svc.can_act():
        raise HTTPException(503, "hand-offs need the telephony REST API; set its credentials "
                                 "(IVR_TWILIO_ACCOUNT_SID and IVR_TWILIO_AUTH_TOKEN, or the "
                                 "IVR_JAMBONZ_API_* settings)")
    res = await svc.store().handoff(seat_id, kind, what, keep=keep, commit=commit)
    if res.error:
        raise HTTPException(409, res.error)
    return res


@router.post("/{seat_id}/exclusion", summary="Tell my caller where the matter belongs",
             responses=SEAT_ERR)
async def exclusion(seat_id: AuthedSeat, body: ExclusionBody, svc: Svc) -> HandoffOut:
    """The caller hears which channel handles the matter (litigation, petitions, ...)."""
    if body.topic not in svc.config.plan.exclusions:
        raise HTTPException(422, f"exclusion {body.topic!r} is not in the plan")
    res = await _handoff(svc, seat_id, "exclusion", body.topic, False)
    sid = res.sid
    info = await svc.store().call_record(sid)
    dialect = svc.dialect_of(info)
    await svc.control_for(dialect).redirect(sid, svc.hook_url(
        dialect, "/exclusion", topic=body.topic, lang=info.language or "zh-CN"))
    await svc.redirect(res.redirect)
    return HandoffOut(call=sid, action=f"exclusion {body.topic}")


@router.post("/{seat_id}/disposition", summary="Record how my last call was handled",
             responses=SEAT_ERR)
async def disposition(seat_id: AuthedSeat, body: DispositionBody, svc: Svc) -> HandoffOut:
    """Category (question, help, complaint, report, suggestion), resolved or handed on."""
    last = (await svc.store().seat_record(seat_id)).last
    if not last:
        raise HTTPException(409, "the seat has not finished a call yet")
    res = await svc.store().dispose(last, body.category, body.resolved, body.department)
    if not res.ok:
        raise HTTPException(409, "that call already has a disposition, or was not answered")
    return HandoffOut(call=last, action="disposition recorded")


# the generic state route comes last, so that /transfer, /exclusion, ... match first
@router.post(
    "/{seat_id}/{action}",
    summary="Change the seat's state",
    responses={404: {"description": "unknown seat"}, 409: {"description": "not allowed now"}},
)
async def seat_action(seat_id: AuthedSeat, action: Literal["login", "ready", "break", "logout"],
                      svc: Svc) -> SeatView:
    """Log in (and become ready), go ready, take a break, or log out."""
    res = await svc.store().seat(seat_id, action)
    if res.error == "unknown seat":
        raise HTTPException(404, f"seat {seat_id!r} is not in the roster")
    if res.error:
        raise HTTPException(409, f"cannot {action}: {res.error}")
    await svc.redirect(res.redirect)
    return await _view(svc, seat_id)

