"""Admin API for IVR flows: immutable revisions, drafts, validate, publish, rollback, simulate.

Every save makes a new revision (never changed afterwards). A flow has at most one
published revision, which new calls use; calls already in progress keep the revision
they started on. ``publish`` refuses a revision that does not validate with the rest
of the config; ``rollback`` publishes an earlier revision.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Response
from pydantic import BaseModel, Field

from ivr.core import engine
from ivr.core.config import dump
from ivr.core.errors import ConfigError
from ivr.core.flows import Flow
from ivr.telephony import twiml
from ivr.web.admin import ERR, READ_ERR, WRITE_ERR
from ivr.web.config import apply, candidate, need_etag, problems_response
from ivr.web.roles import Admin, Monitor, Principal
from ivr.web.services import Services, Svc

router = APIRouter(prefix="/api/flows", tags=["flows"])
FlowId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class FlowSummary(BaseModel):
    """A flow and where its revisions stand."""

    id: str
    rev: int = Field(description="ETag of the flow resource (changes with every save/publish)")
    published: int | None
    latest: int
    draft: int | None
    description: str = ""


class Revision(BaseModel):
    """One immutable revision of a flow."""

    revision: int
    author: str = ""
    at: float = 0
    message: str = ""
    published: bool = False
    flow: dict[str, Any] | None = None


class SaveFlow(BaseModel):
    """A new revision: the flow document and what changed."""

    model_config = {"extra": "forbid"}
    flow: Flow
    message: str = Field("", max_length=500)
    publish: bool = False


class PublishBody(BaseModel):
    """Which revision to publish."""

    model_config = {"extra": "forbid"}
    revision: int = Field(ge=1)
    message: str = Field("", max_length=500)


class ProblemOut(BaseModel):
    """One validation problem."""

    where: str
    field: str
    message: str


class Validation(BaseModel):
    """Whether a revision would validate if published."""

    revision: int
    valid: bool
    problems: list[ProblemOut]


class CallerInput(BaseModel):
    """One thing the simulated caller does at a menu."""

    model_config = {"extra": "forbid"}
    kind: Literal["digits", "speech", "no_input"]
    value: str = Field("", max_length=64)


class SimulateBody(BaseModel):
    """A dry run: which line was dialed and what the caller does."""

    model_config = {"extra": "forbid"}
    line: str = Field("12345", max_length=20)
    revision: int | None = Field(None, ge=1)
    inputs: list[CallerInput] = Field(default_factory=list, max_length=20)


class SimStep(BaseModel):
    """One step of a dry run."""

    node: str | None
    outcome: str
    twiml: str


def _meta(svc: Services, fid: str) -> dict[str, Any]:
    meta = svc.config.flow_meta.get(fid)
    if meta is None:
        raise HTTPException(404, f"no flow {fid!r}")
    return meta


def _summary(svc: Services, fid: str) -> FlowSummary:
    meta = _meta(svc, fid)
    revs = svc.config.flows.revisions.get(fid, {})
    latest = max(revs) if revs else 0
    desc = revs[latest].description if revs else ""
    return FlowSummary(id=fid, rev=svc.config.etags.get("flows", {}).get(fid, 1),
                       published=meta.get("published"), latest=latest, draft=meta.get("draft"),
                       description=desc)


def _revision(svc: Services, fid: str, rev: int) -> Flow:
    flow = svc.config.flows.revisions.get(fid, {}).get(rev)
    if flow is None:
        raise HTTPException(404, f"flow {fid!r} has no revision {rev}")
    return flow


@router.get("", summary="List flows", responses=ERR)
async def list_flows(svc: Svc, who: Monitor) -> list[FlowSummary]:
    """Every flow with its published, latest and draft revision."""
    return [_summary(svc, fid) for fid in sorted(svc.config.flow_meta)]


@router.get("/{fid}", summary="Read a flow", responses=READ_ERR)
async def get_flow(fid: FlowId, svc: Svc, who: Monitor, response: Response) -> FlowSummary:
    """A flow's revision numbers; its ETag is needed to change it."""
    out = _summary(svc, fid)
    response.headers["ETag"] = f'"{out.rev}"'
    return out


@router.get("/{fid}/revisions", summary="List a flow's revisions", responses=READ_ERR)
async def list_revisions(fid: FlowId, svc: Svc, who: Monitor) -> list[Revision]:
    """Every revision with author, time and message."""
    meta = _meta(svc, fid)
    info = meta.get("revs", {})
    return [Revision(revision=r, published=r == meta.get("published"),
                     **{k: v for k, v in info.get(r, {}).items() if k in ("author", "at", "message")})
            for r in sorted(svc.config.flows.revisions.get(fid, {}))]


@router.get("/{fid}/revisions/{rev}", summary="Read one revision", responses=READ_ERR)
async def get_revision(fid: FlowId, rev: int, svc: Svc, who: Monitor) -> Revision:
    """The document of one revision."""
    meta = _meta(svc, fid)
    flow = _revision(svc, fid, rev)
    info = meta.get("revs", {}).get(rev, {})
    return Revision(revision=rev, published=rev == meta.get("published"), flow=dump(flow),
                    **{k: v for k, v in info.items() if k in ("author", "at", "message")})


async def _save(svc: Services, who: Principal, fid: str, body: SaveFlow, expected: str,
                action: str) -> FlowSummary:
    if body.flow.id != fid:
        raise HTTPException(422, f"flow id {body.flow.id!r} differs from the URL's {fid!r}")
    old = svc.config.flow_meta.get(fid, {})
    rev = max(svc.config.flows.revisions.get(fid, {}), default=0) + 1
    flow = body.flow.model_copy(update={"revision": rev})
    meta = {"published": old.get("published"), "latest": rev, "draft": rev}
    if body.publish:
        meta["published"], meta["draft"] = rev, None
    at = svc.clock.now()
    doc = {"flow": dump(flow), "author": who.name, "at": at, "message": body.message}
    await apply(svc, who, "flows", fid, expected, meta, action, flow_rev=rev, flow_doc=doc)
    return _summary(svc, fid)


@router.post("", summary="Create a flow", status_code=201, responses=WRITE_ERR)
async def create_flow(body: SaveFlow, svc: Svc, who: Admin, response: Response) -> FlowSummary:
    """Save revision 1 of a new flow, as a draft unless ``publish`` is true."""
    out = await _save(svc, who, body.flow.id, body, "", "create")
    response.headers["ETag"] = f'"{out.rev}"'
    return out


@router.put("/{fid}", summary="Save a new revision", responses=WRITE_ERR)
async def save_flow(fid: FlowId, body: SaveFlow, svc: Svc, who: Admin, response: Response,
                    if_match: Annotated[str | None, Header()] = None) -> FlowSummary:
    """Add a revision (the new draft; published too when ``publish`` is true)."""
    _meta(svc, fid)
    out = await _save(svc, who, fid, body, need_etag(if_match), "save")
    response.headers["ETag"] = f'"{out.rev}"'
    return out


@router.post("/{fid}/validate", summary="Validate a revision", responses=READ_ERR)
async def validate_flow(fid: FlowId, svc: Svc, who: Monitor,
                        revision: int | None = None) -> Validation:
    """Check whether a revision (default: the latest) would validate if published."""
    meta = _meta(svc, fid)
    rev = revision or max(svc.config.flows.revisions.get(fid, {}), default=0)
    _revision(svc, fid, rev)
    try:
        candidate(svc.config, "flows", fid, {**meta, "published": rev})
    except ConfigError as exc:
        return Validation(revision=rev, valid=False, problems=[
            ProblemOut(where=p.where, field=p.field, message=p.message) for p in exc.problems])
    return Validation(revision=rev, valid=True, problems=[])


async def _publish(svc: Services, who: Principal, fid: str, body: PublishBody,
                   if_match: str | None, action: str) -> FlowSummary:
    meta = dict(_meta(svc, fid))
    meta.pop("revs", None)
    _revision(svc, fid, body.revision)
    meta["published"] = body.revision
    if meta.get("draft") and meta["draft"] <= body.revision:
        meta["draft"] = None
    await apply(svc, who, "flows", fid, need_etag(if_match), meta, action)
    return _summary(svc, fid)


@router.post("/{fid}/publish", summary="Publish a revision", responses=WRITE_ERR)
async def publish_flow(fid: FlowId, body: PublishBody, svc: Svc, who: Admin, response: Response,
                       if_match: Annotated[str | None, Header()] = None) -> FlowSummary:
    """Make a revision the one new calls use; refused (422) if it does not validate."""
    out = await _publish(svc, who, fid, body, if_match, "publish")
    response.headers["ETag"] = f'"{out.rev}"'
    return out


@router.post("/{fid}/rollback", summary="Roll back to an earlier revision", responses=WRITE_ERR)
async def rollback_flow(fid: FlowId, body: PublishBody, svc: Svc, who: Admin, response: Response,
                        if_match: Annotated[str | None, Header()] = None) -> FlowSummary:
    """Publish an earlier revision again."""
    out = await _publish(svc, who, fid, body, if_match, "rollback")
    response.headers["ETag"] = f'"{out.rev}"'
    return out


@router.delete("/{fid}", summary="Delete a flow", status_code=204, responses=WRITE_ERR)
async def delete_flow(fid: FlowId, svc: Svc, who: Admin,
                      if_match: Annotated[str | None, Header()] = None) -> Response:
    """Delete a flow and its revisions; refused while a line or goto uses it."""
    _meta(svc, fid)
    await apply(svc, who, "flows", fid, need_etag(if_match), None, "delete")
    return Response(status_code=204)


@router.post("/{fid}/simulate", summary="Dry-run a flow", responses=READ_ERR)
async def simulate_flow(fid: FlowId, body: SimulateBody, svc: Svc, who: Monitor) -> list[SimStep]:
    """Dry-run a flow: the path a call would take and its TwiML at each step; no live state."""
    cfg = svc.config
    line = cfg.line(body.line)
    if line is None:
        raise HTTPException(422, f"line {body.line!r} is not in the plan")
    rev = body.revision or (_meta(svc, fid).get("published") or _summary(svc, fid).latest)
    _revision(svc, fid, rev)
    try:  # only a revision that would validate can be walked safely
        checked = candidate(cfg, "flows", fid, {**_meta(svc, fid), "published": rev})
    except ConfigError as exc:
        raise problems_response(exc) from exc
    book = checked.flows
    line = line.model_copy(update={"flow": fid})
    step = engine.start(book, line)
    steps = [_sim_step(svc, step)]
    for item in body.inputs:
        if step.position is None:
            break
        step = engine.resume(book, line, step.position, engine.Event(item.kind, item.value))
        steps.append(_sim_step(svc, step))
    return steps


def _sim_step(svc: Services, step: engine.Step) -> SimStep:
    actions = list(step.actions)
    last = actions[-1] if actions else None
    r = twiml.render([a for a in actions if not isinstance(a, engine.EnqueueAction | engine.TransferAction)],
                     "/voice/gather" if step.position else None)
    if isinstance(last, engine.EnqueueAction):
        r.say(f"[queue {last.queue}, skill {last.skill}, priority {last.priority}]")
    elif isinstance(last, engine.TransferAction):
        target = svc.config.plan.targets[last.target]
        r = twiml.dial_target(target.dial or target.number, "/voice/transfer-done", None, r)
    return SimStep(node=step.position.node if step.position else None, outcome=step.outcome,
                   twiml=twiml.to_xml(r))
