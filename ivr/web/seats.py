"""The seat API for softphones: log in, ready, break, log out, and the current call."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path
from pydantic import BaseModel

from ivr.auth import check_seat_token
from ivr.web.services import Svc

router = APIRouter(prefix="/api/seats", tags=["seats"])
SeatId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="The seat's id")]


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
    info = await acd.seat_info(seat_id)
    if not info:
        raise HTTPException(404, f"seat {seat_id!r} is not in the roster")
    call = None
    if info.get("call"):
        c = await acd.call_info(info["call"])
        waited = int(c["wait"]) / 1000 if c.get("wait") else None
        call = CallView(sid=info["call"], line=c.get("ln", ""), queue=c.get("q", ""),
                        caller=c.get("fr", ""), state=c.get("st", ""), waited_seconds=waited)
    return SeatView(seat=seat_id, state=info.get("st", "offline"), call=call)


@router.get("/{seat_id}", summary="The seat's state and current call")
async def get_seat(seat_id: AuthedSeat, svc: Svc) -> SeatView:
    """What the softphone shows: state and the call it has now."""
    return await _view(svc, seat_id)


@router.post(
    "/{seat_id}/{action}",
    summary="Change the seat's state",
    responses={404: {"description": "unknown seat"}, 409: {"description": "not allowed now"}},
)
async def seat_action(seat_id: AuthedSeat, action: Literal["login", "ready", "break", "logout"],
                      svc: Svc) -> SeatView:
    """Log in (and become ready), go ready, take a break, or log out."""
    res = await svc.store().seat(seat_id, action)
    if res.get("error") == "unknown seat":
        raise HTTPException(404, f"seat {seat_id!r} is not in the roster")
    if res.get("error"):
        raise HTTPException(409, f"cannot {action}: {res['error']}")
    await svc.redirect(res.get("redirect", []))
    return await _view(svc, seat_id)
