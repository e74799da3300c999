"""Admin API for lines (the number plan), targets, queues, seats and the audit trail.

Reads need the monitor role, changes the admin role. Every resource carries an ETag
(its revision); changes must send it back in ``If-Match`` (``If-Match: *`` only to
create), and a stale one gets 409 with nothing changed.
"""


import logging
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Body, Header, HTTPException, Path, Query, Response
from pydantic import BaseModel

from ivr.core import states
from ivr.core.config import dump
from ivr.core.hours import Schedule
from ivr.core.numbers import Exclusion, Line, Target
from ivr.core.roster import QueueConfig, Seat
from ivr.web.config import apply, need_etag
from ivr.web.roles import Admin, Monitor
from ivr.web.services import Services, Svc

router = APIRouter(prefix="/api", tags=["admin"])
log = logging.getLogger("ivr.admin")
T = TypeVar("T", bound=BaseModel)
RID = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.+-]{1,64}$", description="resource id")]


class Problem(BaseModel):
    """One thing wrong with a change: where, which field, why."""

    where: str
    field: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer: a sentence, or (422 on config checks) the list of problems."""

    model_config = {"json_schema_extra": {"examples": [
        {"detail": "the resource changed since you read it (stale If-Match); read it again"},
        {"detail": [{"where": "line 12366", "field": "queue",
                     "message": "queue 'sub-12366' does not exist"}]}]}}
    detail: str | list[Problem] | list[dict[str, Any]]


def _e(text: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": text}


ERR: dict[int | str, dict[str, Any]] = {401: _e("no or unknown token"), 403: _e("role not allowed")}
READ_ERR: dict[int | str, dict[str, Any]] = {
    **ERR, 404: _e("no such resource"), 422: _e("invalid input")}
WRITE_ERR: dict[int | str, dict[str, Any]] = {
    **ERR, 413: _e("body too large"), 404: _e("no such resource"),
    409: _e("stale If-Match, or the id exists already"),
    422: _e("invalid: every problem with where, field and why"), 428: _e("If-Match missing")}


class Item(BaseModel, Generic[T]):
    """One config resource with its revision (also sent as the ETag header)."""

    id: str
    rev: int
    data: T


class PlanSettings(BaseModel):
    """The number plan's own settings (its lines and targets are resources of their own)."""

    model_config = {"extra": "forbid"}
    area_code: str
    default_line: str
    unknown_notice: str = ""


class AuditEntry(BaseModel):
    """One config change."""

    id: str
    at: float
    who: str
    action: str
    kind: str
    rev: int
    version: int
    change: dict[str, Any]
    resource: str = ""


def _item(svc: Services, kind: str, rid: str, model: type[T], response: Response) -> Item[T]:
    from ivr.core.config import split

    doc = split(svc.config)[0][kind].get(rid)
    if doc is None:
        raise HTTPException(404, f"no {kind[:-1]} {rid!r}")
    rev = svc.config.etags.get(kind, {}).get(rid, 1)
    response.headers["ETag"] = f'"{rev}"'
    return Item[model](id=rid, rev=rev, data=model.model_validate(doc))  # type: ignore[valid-type]


def crud(kind: str, path: str, model: type[T], id_field: str, label: str) -> None:
    """Register list/read/create/update/delete routes for one kind of resource."""

    @router.get(f"/{path}", summary=f"List {label}", responses=ERR, name=f"list_{kind}")
    async def list_items(svc: Svc, who: Monitor) -> list[Item[model]]:  # type: ignore[valid-type]
        from ivr.core.config import split

        res = split(svc.config)[0][kind]
        return [Item[model](id=k, rev=svc.config.etags.get(kind, {}).get(k, 1),  # type: ignore[valid-type]
                            data=model.model_validate(v)) for k, v in sorted(res.items())]

    @router.get(f"/{path}/{{rid}}", summary=f"Read one of the {label}",
                responses=READ_ERR, name=f"get_{kind}")
    async def get_item(rid: RID, svc: Svc, who: Monitor, response: Response) -> Item[model]:  # type: ignore[valid-type]
        return _item(svc, kind, rid, model, response)

    @router.put(f"/{path}/{{rid}}", summary=f"Create or replace one of the {label}",
                responses=WRITE_ERR, name=f"put_{kind}")
    async def put_item(rid: RID, body: Annotated[model, Body()], svc: Svc, who: Admin,  # type: ignore[valid-type]
                       response: Response,
                       if_match: Annotated[str | None, Header()] = None,
                       if_none_match: Annotated[str | None, Header()] = None) -> Item[model]:  # type: ignore[valid-type]
        if id_field and getattr(body, id_field) != rid:
            raise HTTPException(422, f"{id_field} {getattr(body, id_field)!r} differs from the URL's {rid!r}")
        creating = if_none_match == "*"
        expected = "" if creating else need_etag(if_match)
        await apply(svc, who, kind, rid, expected, dump(body), "create" if creating else "update")
        response.status_code = 201 if creating else 200
        return _item(svc, kind, rid, model, response)

    @router.delete(f"/{path}/{{rid}}", summary=f"Delete one of the {label}", status_code=204,
                   responses=WRITE_ERR, name=f"delete_{kind}")
    async def delete_item(rid: RID, svc: Svc, who: Admin,
                          if_match: Annotated[str | None, Header()] = None) -> Response:
        expected = need_etag(if_match)
        if kind == "seats" and (await svc.store().seat_record(rid)).state in states.SEAT_BUSY:
            raise HTTPException(409, f"cannot delete seat {rid}: seat has a call in progress")
        # the change is checked (If-Match, validation) and written first; only then does the
        # live roster follow it, so a refused change leaves the seat where it was
        await apply(svc, who, kind, rid, expected, None, "delete")
        if kind == "seats":
            res = await svc.store().remove_seat(rid)
            if res.error:  # it took a call meanwhile: the next config sync removes it
                log.warning("seat %s deleted from the roster but still busy: %s", rid, res.error)
        return Response(status_code=204)


crud("lines", "lines", Line, "number", "lines (dialable numbers of the plan)")
crud("targets", "targets", Target, "", "transfer targets (110, utilities, neighbouring cities)")
crud("exclusions", "exclusions", Exclusion, "", "exclusions (matters 12345 does not take)")
crud("schedules", "schedules", Schedule, "", "opening-hours schedules and holiday calendars")
crud("queues", "queues", QueueConfig, "id", "queues (the 12345 pool and sub-centers)")
crud("seats", "roster", Seat, "id", "seats of the roster")


@router.get("/plan", summary="The number plan's settings", responses=READ_ERR)
async def get_plan(svc: Svc, who: Monitor, response: Response) -> Item[PlanSettings]:
    """Area code, default line and the unknown-number notice."""
    return _item(svc, "plan", "plan", PlanSettings, response)


@router.put("/plan", summary="Change the number plan's settings", responses=WRITE_ERR)
async def put_plan(body: PlanSettings, svc: Svc, who: Admin, response: Response,
                   if_match: Annotated[str | None, Header()] = None) -> Item[PlanSettings]:
    """Replace area code, default line and unknown-number notice."""
    await apply(svc, who, "plan", "plan", need_etag(if_match), body.model_dump(), "update")
    return _item(svc, "plan", "plan", PlanSettings, response)


@router.get("/audit", summary="Config changes, newest first", responses=ERR)
async def audit(svc: Svc, who: Monitor, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                before: Annotated[str, Query(pattern=r"^(\+|[0-9]+-[0-9]+)$")] = "+",
                ) -> list[AuditEntry]:
    """Who changed what and when, with the resource before and after."""
    rows = await svc.configs().audit(limit, before)
    return [AuditEntry(id=r["id"], at=r["at"], who=r.get("who", ""), action=r.get("action", ""),
                       kind=r.get("kind", ""), rev=int(r.get("rev", 0)),
                       version=int(r.get("version", 0)), change=r["change"],
                       resource=r.get("resource", "")) for r in rows]
