"""The center's config in Redis: resources, flow revisions, audit stream, change feed.

Redis holds the config admins edit; every worker keeps a validated copy in memory
(``CenterConfig``) and swaps it when the config version changes, told by pub/sub and,
as a safety net, by polling the version every second. Webhooks read only the
in-memory copy: no Redis round trip is spent on config.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from redis.asyncio import Redis

from ivr.clock import Clock
from ivr.core.config import KINDS, CenterConfig, FlowRevs, Resources, assemble, split
from ivr.store import scripts
from ivr.store.keys import Keys

log = logging.getLogger("ivr.config")


class ConfigStore:
    """Read, write and watch one center's config in Redis."""

    def __init__(self, redis: Redis, keys: Keys, clock: Clock) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self._write = redis.register_script(scripts.source("cfg_write"))

    async def version(self) -> str:
        """The current config version (a counter bumped by every change)."""
        v = await self.redis.hget(self.keys.meta(), "cfgver")
        return str(v or "0")

    async def is_empty(self) -> bool:
        """Whether no config was ever stored for this center."""
        return not await self.redis.exists(self.keys.cfg("lines"), self.keys.cfg("queues"))

    async def seed(self, cfg: CenterConfig, who: str, message: str = "import") -> str:
        """Replace the whole stored config by ``cfg`` in one transaction; returns the version."""
        res, revs = split(cfg)
        now = int(self.clock.now() * 1000)
        pipe = self.redis.pipeline(transaction=True)
        for kind in KINDS:
            pipe.delete(self.keys.cfg(kind), self.keys.cfgrev(kind))
            for rid, doc in res[kind].items():
                pipe.hset(self.keys.cfg(kind), rid, json.dumps(doc, ensure_ascii=False))
                pipe.hset(self.keys.cfgrev(kind), rid, 1)
        for fid, by_rev in revs.items():
            pipe.delete(self.keys.flowrevs(fid))
            for rev, doc in by_rev.items():
                doc = {"author": who, "at": now, "message": message, **doc}
                pipe.hset(self.keys.flowrevs(fid), str(rev), json.dumps(doc, ensure_ascii=False))
        pipe.hincrby(self.keys.meta(), "cfgver", 1)
        pipe.xadd(self.keys.audit(), {"at": now, "who": who, "action": "import", "kind": "all",
                                      "id": "*", "rev": 0, "version": 0,
                                      "change": json.dumps({"message": message})},
                  maxlen=100000, approximate=True)
        out = await pipe.execute()
        version = str(out[-2])
        await self.redis.publish(self.keys.cfgchan(), version)
        return version

    async def read(self) -> tuple[Resources, FlowRevs, dict[str, dict[str, int]], str]:
        """Every resource, flow revision and ETag as stored, with the version read."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hget(self.keys.meta(), "cfgver")
        for kind in KINDS:
            pipe.hgetall(self.keys.cfg(kind))
            pipe.hgetall(self.keys.cfgrev(kind))
        out = await pipe.execute()
        version = str(out[0] or "0")
        res: Resources = {}
        etags: dict[str, dict[str, int]] = {}
        for i, kind in enumerate(KINDS):
            res[kind] = {k: json.loads(v) for k, v in out[1 + 2 * i].items()}
            etags[kind] = {k: int(v) for k, v in out[2 + 2 * i].items()}
        pipe = self.redis.pipeline(transaction=False)
        fids = list(res["flows"])
        for fid in fids:
            pipe.hgetall(self.keys.flowrevs(fid))
        revs: FlowRevs = {}
        for fid, raw in zip(fids, await pipe.execute(), strict=True):
            revs[fid] = {int(r): json.loads(d) for r, d in raw.items()}
        return res, revs, etags, version

    async def load(self) -> CenterConfig:
        """The stored config, validated."""
        res, revs, etags, version = await self.read()
        return assemble(res, revs, version, etags)

    async def write(self, kind: str, rid: str, expected: str, doc: dict[str, Any] | None, *,
                    who: str, action: str, change: dict[str, Any], base_version: str = "",
                    flow_rev: int | None = None, flow_doc: dict[str, Any] | None = None,
                    ) -> dict[str, Any]:
        """One atomic, audited change (see lua/cfg_write.lua for the answers)."""
        raw = await self._write(keys=[self.keys.meta()], args=[
            int(self.clock.now() * 1000), base_version, kind, rid, expected,
            "" if doc is None else json.dumps(doc, ensure_ascii=False),
            "" if flow_rev is None else str(flow_rev),
            "" if flow_doc is None else json.dumps(flow_doc, ensure_ascii=False),
            who, action, json.dumps(change, ensure_ascii=False, default=str),
        ])
        return cast(dict[str, Any], json.loads(raw))

    async def audit(self, count: int = 100, before: str = "+") -> list[dict[str, Any]]:
        """The newest audit entries (before an entry id), newest first."""
        rows = cast(list[tuple[str, dict[str, str]]],
                    await self.redis.xrevrange(self.keys.audit(), max=before, min="-", count=count))
        out = []
        for entry_id, fields in rows:
            item: dict[str, Any] = {**fields, "resource": fields.get("id", ""), "id": entry_id}
            item["change"] = json.loads(fields.get("change") or "{}")
            item["at"] = int(fields.get("at", 0)) / 1000
            out.append(item)
        return out

    async def watch(self, current: Callable[[], str], reload: Callable[[], Awaitable[None]],
                    poll_seconds: float = 0.25) -> None:
        """Reload whenever the stored version differs from ``current()``; runs forever.

        A version poll (one HGET) every ``poll_seconds`` rather than a pub/sub listener:
        it cannot miss a message while reconnecting, and it stops promptly when cancelled
        (redis-py's ``PubSub.get_message`` was seen to hang on cancellation). Every change
        is still published on ``cfgchan`` for outside listeners.
        """
        while True:
            try:
                if await self.version() != current():
                    await reload()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away or config invalid: try again shortly
                log.warning("config watcher: %s", exc)
            await asyncio.sleep(poll_seconds)
