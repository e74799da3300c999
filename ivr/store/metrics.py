"""Monitoring reads: counter buckets and live queue/seat state from Redis, as reports.

Only reads; every key comes from :class:`ivr.store.keys.Keys`. One report costs a few
pipelined round trips: ``HGETALL`` of (queues + lines) x buckets, then the wait sets
(``ZCARD`` and one ``ZRANGEBYSCORE .. LIMIT 0 1`` per priority band per skill, so the
longest wait is found in O(log n) without reading whole queues), then the seat states.
The formulas are in :mod:`ivr.core.kpi`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from ivr.clock import Clock
from ivr.core import kpi
from ivr.core.config import CenterConfig
from ivr.core.numbers import UNKNOWN_LINE
from ivr.core.roster import QueueConfig
from ivr.core.staffing import staffing_advice
from ivr.store.keys import Keys

SCORE_SPAN = 10**13  # wait-set score = (9 - priority) * SCORE_SPAN + arrival ms
Series = dict[int, kpi.Counts]


def sl_target_of(q: QueueConfig) -> float:
    """The service-level target share of a queue."""
    return q.sl_target


class BucketCache:
    """Counter hashes of settled buckets, each read from Redis once and kept in memory.

    A bucket over for ``grace`` seconds never changes again (the scripts count at the
    ``now`` they are given). Holds at most the buckets of the last ``keep`` seconds.
    """

    def __init__(self, grace: float = 60.0, keep: int = 26 * 3600) -> None:
        self.grace, self.keep = grace, keep
        self.data: dict[tuple[str, str, int], kpi.Counts] = {}
        self._pruned = 0

    def get(self, kind: str, name: str, bucket: int) -> kpi.Counts | None:
        """A cached bucket, or None."""
        return self.data.get((kind, name, bucket))

    def put(self, kind: str, name: str, bucket: int, counts: kpi.Counts, now: float) -> None:
        """Keep a bucket if it is settled and recent enough; forget the too old ones."""
        if kpi.bucket_of(now) != self._pruned:
            self._pruned = kpi.bucket_of(now)
            for key in [k for k in self.data if k[2] < now - self.keep]:
                del self.data[key]
        if bucket + kpi.BUCKET + self.grace <= now and bucket >= now - self.keep:
            self.data[(kind, name, bucket)] = counts


class Metrics:
    """Monitoring figures of one center, read from Redis at the clock's current time."""

    def __init__(self, redis: Redis, keys: Keys, config: CenterConfig, clock: Clock,
                 rules: kpi.AlertRules | None = None, cache: BucketCache | None = None) -> None:
        self.redis = redis
        self.keys = keys
        self.config = config
        self.clock = clock
        self.rules = rules or kpi.AlertRules()
        self.cache = cache or BucketCache()

    async def series(self, kind: str, names: Sequence[str],
                     buckets: Sequence[int]) -> dict[str, Series]:
        """Counter hashes of queues (kind ``q``) or lines (``l``): name -> bucket -> counts."""
        now = self.clock.now()
        out: dict[str, Series] = {name: {} for name in names}
        missing: list[tuple[str, int]] = []
        pipe = self.redis.pipeline(transaction=False)
        for name in names:
            for b in buckets:
                hit = self.cache.get(kind, name, b)
                if hit is None:
                    missing.append((name, b))
                    pipe.hgetall(self.keys.cnt(kind, name, b))
                elif hit:
                    out[name][b] = hit
        for (name, b), raw in zip(missing, await pipe.execute(), strict=True):
            counts = {sys.intern(k): int(v) for k, v in raw.items()}
            self.cache.put(kind, name, b, counts, now)
            if counts:
                out[name][b] = counts
        return out

    async def live(self, queues: Sequence[str]) -> dict[str, kpi.Live]:
        """Waiting calls, oldest arrival and logged-in seats by state, per queue, now."""
        pipe = self.redis.pipeline(transaction=False)
        for q in queues:
            pipe.smembers(self.keys.wskills(q))
            pipe.smembers(self.keys.logged(q))
        first = await pipe.execute()
        skills = {q: sorted(map(str, first[2 * i])) for i, q in enumerate(queues)}
        logged = {q: sorted(map(str, first[2 * i + 1])) for i, q in enumerate(queues)}
        for q in queues:
            for sk in skills[q]:
                key = self.keys.wait(q, sk)
                pipe.zcard(key)
                for p in range(10):
                    pipe.zrangebyscore(key, p * SCORE_SPAN, f"({(p + 1) * SCORE_SPAN}",
                                       start=0, num=1, withscores=True)
            for seat in logged[q]:
                pipe.hget(self.keys.seat(seat), "st")
        res = iter(await pipe.execute())
        out: dict[str, kpi.Live] = {}
        for q in queues:
            waiting, oldest = 0, None
            for _ in skills[q]:
                waiting += int(next(res))
                for _p in range(10):
                    for _sid, score in next(res):
                        arrival = int(score) % SCORE_SPAN
                        oldest = arrival if oldest is None else min(oldest, arrival)
            states = kpi.add({str(next(res) or "offline"): 1} for _ in logged[q])
            out[q] = kpi.Live(waiting, oldest, len(logged[q]), tuple(sorted(states.items())))
        return out

    async def center_seats(self) -> tuple[int, dict[str, int]]:
        """(seats logged in, seats by state) over the whole roster, each seat once."""
        seats = sorted(map(str, await self.redis.smembers(self.keys.seats())))
        pipe = self.redis.pipeline(transaction=False)
        for seat in seats:
            pipe.hget(self.keys.seat(seat), "st")
        states = kpi.add({str(st or "offline"): 1} for st in await pipe.execute())
        return sum(n for s, n in states.items() if s != "offline"), states

    def _queues(self, queue: str | None) -> list[QueueConfig]:
        return [q for q in self.config.roster.queues if queue is None or q.id == queue]

    async def report(self, *, queue: str | None = None, line: str | None = None,
                     lines: bool = True, spark: int = 0, raw: bool = False) -> dict[str, Any]:
        """Windowed and live figures, alerts: the center, its queues and its lines."""
        now = self.clock.now()
        keep = max(spark, self.rules.overflow_intervals + 1, 5)
        buckets = list(range(min(kpi.day_start(now), kpi.last_buckets(now, keep)[0]),
                             kpi.bucket_of(now) + 1, kpi.BUCKET))
        queues = [] if line is not None else self._queues(queue)
        qs = await self.series("q", [q.id for q in queues], buckets)
        live = await self.live([q.id for q in queues])
        rows: list[dict[str, Any]] = []
        alerts: list[dict[str, Any]] = []
        for q in queues:
            row: dict[str, Any] = {
                "id": q.id, "name": q.name, "kind": q.kind,
                "target_answer_rate": q.target_answer_rate, "sl_seconds": q.sl_seconds,
                "overflow_to": q.overflow.to if q.overflow else None,
                "windows": kpi.windowed(qs[q.id], now, q.sl_seconds, q.target_answer_rate),
                "live": kpi.live_figures(live[q.id], now),
            }
            if spark:
                row["spark"] = [{"start": b, "answer_rate": f["answer_rate"],
                                 "offered": f["offered"], "abandoned": f["abandoned_counted"]}
                                for b in kpi.last_buckets(now, spark)
                                for f in [kpi.figures(qs[q.id].get(b, {}), q.sl_seconds, None)]]
            if raw:
                row["counts_today"] = kpi.add(qs[q.id].get(b, {})
                                              for b in kpi.window_buckets(now, "today"))
            overflow = [qs[q.id].get(b, {}).get("overflow_out", 0)
                        for b in kpi.last_buckets(now, self.rules.overflow_intervals + 1)]
            alerts += kpi.queue_alerts(row, self.rules, overflow)
            rows.append(row)
        out: dict[str, Any] = {"center": self.keys.center, "now": now, "now_iso": kpi.iso(now),
                               "windows": self._window_spans(now), "queues": rows,
                               "alerts": alerts}
        if queue is None and line is None:
            out["totals"] = await self._totals(qs, live, now)
        if lines or line is not None:
            out["lines"] = await self._lines(buckets, now, queue, line, raw)
            if "totals" in out:
                total = kpi.add(c for r in out["lines"] for c in [r.pop("_today")])
                out["totals"]["windows"]["today"] |= kpi.line_extras(total)
            for r in out["lines"]:
                r.pop("_today", None)
        return out

    @staticmethod
    def _window_spans(now: float) -> dict[str, dict[str, Any]]:
        spans = {}
        for w in kpi.WINDOW_NAMES:
            first = kpi.window_buckets(now, w)[0]
            spans[w] = {"from": first, "from_iso": kpi.iso(first), "to": now,
                        "seconds": round(now - first, 3)}
        return spans

    async def _totals(self, qs: dict[str, Series], live: dict[str, kpi.Live],
                      now: float) -> dict[str, Any]:
        merged: Series = {}
        for series in qs.values():
            for b, c in series.items():
                merged[b] = kpi.add([merged.get(b, {}), c])
        logged, states = await self.center_seats()
        oldest = [x.oldest_arrival_ms for x in live.values() if x.oldest_arrival_ms is not None]
        center_live = kpi.Live(sum(x.waiting for x in live.values()),
                               min(oldest) if oldest else None, logged,
                               tuple(sorted(states.items())))
        sl = min((q.sl_seconds for q in self.config.roster.queues), default=15.0)
        target = max((q.target_answer_rate for q in self.config.roster.queues), default=0.99)
        return {"windows": kpi.windowed(merged, now, sl, target),
                "live": kpi.live_figures(center_live, now)}

    async def _lines(self, buckets: list[int], now: float, queue: str | None,
                     line: str | None, raw: bool) -> list[dict[str, Any]]:
        plan = [ln for ln in self.config.plan.lines
                if (line is None or ln.number == line) and (queue is None or ln.queue == queue)]
        names = [ln.number for ln in plan]
        if line is None and queue is None:
            names.append(UNKNOWN_LINE)
        series = await self.series("l", names, buckets)
        by_number = {ln.number: ln for ln in plan}
        rows = []
        for name in names:
            ln = by_number.get(name)
            qc = self.config.roster.queue(ln.queue) if ln else None
            sl = qc.sl_seconds if qc else 15.0
            target = qc.target_answer_rate if qc else None
            today = kpi.add(series[name].get(b, {}) for b in kpi.window_buckets(now, "today"))
            row: dict[str, Any] = {
                "number": name, "name": ln.name if ln else "unknown number",
                "name_en": ln.name_en if ln else "", "mode": ln.mode.value if ln else None,
                "queue": ln.queue if ln else None,
                "windows": kpi.windowed(series[name], now, sl, target, extras=True),
                "_today": today,
            }
            if raw:
                row["counts_today"] = today
            rows.append(row)
        return rows

    async def history(self, hours: int, *, queue: str | None = None,
                      line: str | None = None) -> list[dict[str, Any]]:
        """Per-interval figures over the last ``hours``: center and queues, or one scope."""
        now = self.clock.now()
        buckets = kpi.last_buckets(now, hours * 3600 // kpi.BUCKET)
        if line is not None:
            ln = self.config.line(line)
            qc = self.config.roster.queue(ln.queue) if ln else None
            series = (await self.series("l", [line], buckets))[line]
            return [{"scope": "line", "id": line, "points": kpi.history(
                series, buckets, qc.sl_seconds if qc else 15.0,
                qc.target_answer_rate if qc else None)}]
        queues = self._queues(queue)
        qs = await self.series("q", [q.id for q in queues], buckets)
        out = [{"scope": "queue", "id": q.id, "points": kpi.history(
            qs[q.id], buckets, q.sl_seconds, q.target_answer_rate)} for q in queues]
        if queue is None:
            merged = {b: kpi.add(s.get(b, {}) for s in qs.values()) for b in buckets}
            sl = min((q.sl_seconds for q in queues), default=15.0)
            target = max((q.target_answer_rate for q in queues), default=0.99)
            out.insert(0, {"scope": "center", "id": self.keys.center,
                           "points": kpi.history(merged, buckets, sl, target)})
        return out

    async def staffing(self, queue: str | None = None) -> list[dict[str, Any]]:
        """Per queue: seats that would meet its targets, from the last hour, beside seats now."""
        now = self.clock.now()
        buckets = kpi.window_buckets(now, "1h")
        queues = self._queues(queue)
        qs = await self.series("q", [q.id for q in queues], buckets)
        live = await self.live([q.id for q in queues])
        pipe = self.redis.pipeline(transaction=False)
        for q in queues:
            pipe.hget(self.keys.qstat(q.id), "aht")
        ewma = await pipe.execute()
        out = []
        for q, aht_ms in zip(queues, ewma, strict=True):
            states = dict(live[q.id].states)
            advice = staffing_advice(
                kpi.add(qs[q.id].values()), now - buckets[0], target=q.target_answer_rate,
                sl_target=sl_target_of(q), sl_seconds=q.sl_seconds,
                wrap_seconds=q.wrapup_seconds,
                default_aht_seconds=int(aht_ms) / 1000 if aht_ms else q.default_aht_seconds,
                logged=live[q.id].logged, ready=states.get("ready", 0))
            out.append({"queue": q.id, "name": q.name, "window_seconds": now - buckets[0]}
                       | advice)
        return out
