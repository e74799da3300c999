"""Move config between the YAML folders and a running center's Redis (CLI helpers)."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from ivr.clock import SystemClock
from ivr.configfiles import dump_dir, load
from ivr.settings import Settings
from ivr.store.configstore import ConfigStore
from ivr.store.connection import make_client, open_server
from ivr.store.keys import Keys


async def _with_store(settings: Settings) -> tuple[ConfigStore, Redis, object]:
    server = open_server(settings.redis_url, settings.data_dir)
    redis = make_client(server.url, settings)
    return ConfigStore(redis, Keys(settings.center), SystemClock()), redis, server


async def export_config(settings: Settings, root: Path) -> list[Path]:
    """Write the center's stored config (published flows) under ``root``."""
    store, redis, server = await _with_store(settings)
    try:
        if await store.is_empty():
            raise LookupError(f"center {settings.center!r} has no config in Redis yet")
        return dump_dir(await store.load(), root)
    finally:
        await redis.aclose()
        server.close()  # type: ignore[attr-defined]


async def import_config(settings: Settings, root: Path, who: str = "cli") -> str:
    """Validate the folders under ``root`` and replace the stored config; returns the version."""
    cfg = load(root)
    store, redis, server = await _with_store(settings)
    try:
        return await store.seed(cfg, who=who, message=f"imported from {root}")
    finally:
        await redis.aclose()
        server.close()  # type: ignore[attr-defined]
