"""How far the archive is behind the event stream, and the alert when it is too far.

The lag is the age of the oldest event not yet archived: the oldest entry pending in the
group (delivered, not acknowledged) or, if older, the first entry never delivered. Read
with commands of Redis 6.2 (XINFO GROUPS, XPENDING, XRANGE with an exclusive start).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from ivr.archive.consumer import GROUP
from ivr.store.keys import Keys


def _ms(stream_id: str) -> int:
    return int(stream_id.split("-", 1)[0])


async def archive_lag(redis: Redis, keys: Keys, now_ms: int) -> dict[str, Any]:
    """Stream length, unarchived events and the lag in seconds (``group: False`` if none)."""
    key = keys.events()
    length = int(await redis.xlen(key))
    groups = await redis.xinfo_groups(key) if length or await redis.exists(key) else []
    group = next((g for g in groups if g.get("name") == GROUP), None)
    if group is None:  # nobody has ever consumed: everything in the stream is behind
        first = await redis.xrange(key, min="-", max="+", count=1) if length else []
        lag = max(0.0, (now_ms - _ms(str(first[0][0]))) / 1000) if first else None
        return {"group": False, "length": length, "pending": 0, "undelivered": bool(first),
                "lag_seconds": None if lag is None else round(lag, 1)}
    oldest: list[int] = []
    pending = int(group.get("pending", 0))
    if pending:
        summary = await redis.xpending(key, GROUP)
        if summary.get("min"):
            oldest.append(_ms(summary["min"]))
    last = str(group.get("last-delivered-id", "0-0"))
    first_new = await redis.xrange(key, min=f"({last}", max="+", count=1)
    if first_new:
        oldest.append(_ms(str(first_new[0][0])))
    lag = max(0.0, (now_ms - min(oldest)) / 1000) if oldest else 0.0
    return {"group": True, "length": length, "pending": pending,
            "undelivered": bool(first_new), "lag_seconds": round(lag, 1)}


def lag_alert(lag: dict[str, Any], threshold_seconds: float, cap: int) -> dict[str, Any] | None:
    """The ``archive_lag`` alert, or None while the archive keeps up."""
    seconds = lag.get("lag_seconds")
    full = cap > 0 and lag.get("length", 0) >= 0.8 * cap and lag.get("lag_seconds")
    if (seconds is None or seconds <= threshold_seconds) and not full:
        return None
    text = (f"archive: oldest unarchived event is {seconds:.0f} s old" if seconds
            else "archive: behind")
    if full:
        text += f"; the event stream is at {lag['length']} of its cap {cap}"
    return {"kind": "archive_lag", "queue": None, "queue_name": None, "window": None,
            "value": seconds, "threshold": threshold_seconds, "message": text}


async def lag_alerts(redis: Redis, keys: Keys, now_ms: int, threshold_seconds: float,
                     cap: int) -> list[dict[str, Any]]:
    """The archive's alerts now (empty while it keeps up, or when there is no archive)."""
    if cap <= 0:
        return []
    alert = lag_alert(await archive_lag(redis, keys, now_ms), threshold_seconds, cap)
    return [alert] if alert else []
