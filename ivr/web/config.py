"""Applying one admin change: validate the whole config with it, write it atomically.

Every change is checked by building the complete candidate config (so a queue still
used by a line, or a flow still reached by a ``goto``, is refused with the names of
its users), then written by ``cfg_write.lua`` with the client's ETag (``If-Match``)
and the config version it was checked against. When another change landed in
between, the candidate is rebuilt and checked again (up to three times).

``reload_config`` swaps the stored config into this worker; ``create_app`` runs it at
start and on every new version, and ``apply`` after each change it writes.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from fastapi import HTTPException

from ivr.core.config import CenterConfig, assemble, split
from ivr.core.errors import ConfigError
from ivr.web.roles import Principal
from ivr.web.services import Services

log = logging.getLogger("ivr")
ERRORS = {
    "conflict": (409, "the resource changed since you read it (stale If-Match); read it again"),
    "exists": (409, "a resource with this id already exists"),
    "missing": (404, "no such resource"),
}


async def reload_config(svc: Services) -> None:
    """Load the stored config, swap it in, and sync queues and seats into the ACD.

    A store found empty (the first start of a center, or Redis restarted without
    persistence) is seeded from the config this worker holds: the config folders at
    first, else its last known config.
    """
    if await svc.configs().is_empty():
        await svc.configs().seed(svc.config, who="system", message="seeded: the store was empty")
        log.warning("no config in Redis for center %s: seeded it with the config this worker "
                    "holds", svc.settings.center)
    cfg = await svc.configs().load()
    svc.config = cfg
    await svc.redirect(await svc.store().sync_config(cfg))
    log.info("config version %s in use", cfg.version)


def etag_of(header: str | None) -> str | None:
    """The revision named by an If-Match header (``"3"``, ``W/"3"`` or ``*``)."""
    if header is None:
        return None
    value = header.strip().removeprefix("W/").strip('"')
    return value or None


def need_etag(header: str | None) -> str:
    """The If-Match revision, or 428 when the client did not send one."""
    rev = etag_of(header)
    if rev is None:
        raise HTTPException(428, "If-Match with the resource's ETag is required for changes")
    return rev


def problems_response(exc: ConfigError) -> HTTPException:
    """A 422 whose detail lists every problem with where, field and why."""
    return HTTPException(422, [{"where": p.where, "field": p.field, "message": p.message}
                               for p in exc.problems])


def candidate(cfg: CenterConfig, kind: str, rid: str, doc: dict[str, Any] | None,
              flow_rev: int | None = None, flow_doc: dict[str, Any] | None = None) -> CenterConfig:
    """The whole config as it would be after the change (ConfigError if invalid)."""
    res, revs = split(cfg)
    res = copy.deepcopy(res)
    if doc is None:
        res[kind].pop(rid, None)
        if kind == "flows":
            revs.pop(rid, None)
    else:
        res[kind][rid] = doc
    if flow_rev is not None and flow_doc is not None:
        revs.setdefault(rid, {})[flow_rev] = flow_doc
    return assemble(res, revs, cfg.version, cfg.etags)


async def apply(svc: Services, who: Principal, kind: str, rid: str, expected: str,
                doc: dict[str, Any] | None, action: str, *, flow_rev: int | None = None,
                flow_doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check and write one change; returns {rev, version}; raises the HTTP error to answer."""
    for _ in range(3):
        cfg = svc.config
        try:
            candidate(cfg, kind, rid, doc, flow_rev, flow_doc)
        except ConfigError as exc:
            raise problems_response(exc) from exc
        before = split(cfg)[0][kind].get(rid)
        out = await svc.configs().write(
            kind, rid, expected, doc, who=who.name, action=action,
            change={"before": before, "after": doc}, base_version=cfg.version,
            flow_rev=flow_rev, flow_doc=flow_doc)
        if out.get("error") == "stale_config":
            await reload_config(svc)
            continue
        if out.get("error"):
            status, text = ERRORS[out["error"]]
            raise HTTPException(status, text)
        await reload_config(svc)
        return out
    raise HTTPException(409, "the config kept changing while this change was checked; retry")
