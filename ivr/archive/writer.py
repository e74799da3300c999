"""One batch of events into the database in one transaction: idempotent, rollups kept.

Under the center's write lock (``ivr.archive.db.lock_center``):

1. calls: the stored version of each call is read; an event not newer than it changes
   nothing (a redelivery). Otherwise the old record's counters are taken out of the
   rollups, the new one's put in, and the row upserted;
2. seat intervals: inserted with ON CONFLICT DO NOTHING; only rows really inserted
   (RETURNING) add their state time to the rollups;
3. rollups: the touched (day, dimension, key) rows are read, changed and upserted.

What is added now is counted from the record, what is taken away later from the stored
row (``decode.row_record``); ``decode.call_row`` keeps every field whole, so both count the
same (tested).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from ivr.archive.db import lock_center
from ivr.archive.decode import Batch, call_row, row_record
from ivr.archive.models import CALLS, ROLLUPS, SEATS
from ivr.core import cdr

CHUNK = 500  # keys per IN (...) list
RowKey = tuple[int, str, str]  # (day, dim, key)


@dataclass
class Written:
    """What one batch changed."""

    calls: int = 0  # call rows inserted or superseded
    stale: int = 0  # call events not newer than the stored record (redeliveries)
    seats: int = 0  # seat intervals inserted
    rollups: int = 0  # rollup rows written


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def _insert(conn: AsyncConnection, table: Table) -> Any:
    return (postgresql.insert(table) if conn.dialect.name == "postgresql"
            else sqlite.insert(table))


def add_record(delta: dict[RowKey, cdr.Counts], row: dict[str, Any], short_ms: int,
               sign: int = 1) -> None:
    """Add (sign 1) or take away (-1) a stored call row's counters in ``delta``."""
    for dim, key, part in cdr.contributions(row_record(row), short_ms):
        cdr.merge(delta.setdefault((int(row["day"]), dim, key), {}), part, sign)


def add_interval(delta: dict[RowKey, cdr.Counts], row: dict[str, Any]) -> None:
    """Add a seat interval's state time, split at midnight, in ``delta``."""
    for day, part in cdr.interval_parts(row["state"], row["start_ms"], row["end_ms"]):
        cdr.merge(delta.setdefault((day, "seat", row["seat"]), {}), part)


async def write_batch(conn: AsyncConnection, center: str, batch: Batch, short_ms: int) -> Written:
    """Write one decoded batch (inside the caller's transaction)."""
    await lock_center(conn, center)
    out = Written()
    delta: dict[RowKey, cdr.Counts] = {}
    await _calls(conn, center, batch, short_ms, delta, out)
    await _seats(conn, center, batch, delta, out)
    out.rollups = await apply_rollups(conn, center, delta)
    return out


async def _calls(conn: AsyncConnection, center: str, batch: Batch, short_ms: int,
                 delta: dict[RowKey, cdr.Counts], out: Written) -> None:
    t = CALLS
    old: dict[str, dict[str, Any]] = {}
    if conn.dialect.name == "postgresql" and batch.calls:
        # a join with unnest(array) probes the key index (or hashes) at any table size; a
        # long IN list on a table without fresh statistics is filtered row by row
        keys = func.unnest(bindparam("sids", list(batch.calls), type_=ARRAY(String))
                           ).table_valued("sid").render_derived(name="k")
        res = await conn.execute(select(t).join(keys, t.c.sid == keys.c.sid)
                                 .where(t.c.center == center))
        old.update({r.sid: dict(r._mapping) for r in res})
    else:
        for sids in _chunks(list(batch.calls)):
            res = await conn.execute(select(t).where(t.c.sid.in_(sids), t.c.center == center))
            old.update({r.sid: dict(r._mapping) for r in res})
    rows = []
    for sid, (version, rec) in batch.calls.items():
        prev = old.get(sid)
        if prev is not None and prev["version"] >= version:
            out.stale += 1
            continue
        row = call_row(center, sid, version, rec)
        if prev is not None:
            add_record(delta, prev, short_ms, -1)
        for dim, key, part in cdr.contributions(rec, short_ms):  # counts as row_record(row)
            cdr.merge(delta.setdefault((row["day"], dim, key), {}), part)
        rows.append(row)
    if rows:
        await _upsert_calls(conn, rows)
    out.calls = len(rows)


async def _upsert_calls(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Insert or supersede call rows (one statement over column arrays on PostgreSQL).

    ``unnest`` of one array per column costs no per-row parameter work in SQLAlchemy;
    SQLite takes an executemany.
    """
    t = CALLS
    if conn.dialect.name == "postgresql":
        arrays = [bindparam(f"a_{c.name}", [r[c.name] for r in rows], type_=ARRAY(c.type))
                  for c in t.c]
        src = func.unnest(*arrays).table_valued(*(c.name for c in t.c)).render_derived(name="r")
        pg = postgresql.insert(t).from_select([c.name for c in t.c], select(src))
        cols = {c.name: pg.excluded[c.name] for c in t.c if c.name not in ("center", "sid")}
        await conn.execute(pg.on_conflict_do_update(index_elements=["sid", "center"], set_=cols))
        return
    ins = sqlite.insert(t)
    cols = {c.name: ins.excluded[c.name] for c in t.c if c.name not in ("center", "sid")}
    await conn.execute(ins.on_conflict_do_update(index_elements=["sid", "center"], set_=cols),
                       rows)


async def _seats(conn: AsyncConnection, center: str, batch: Batch,
                 delta: dict[RowKey, cdr.Counts], out: Written) -> None:
    if not batch.seats:
        return
    t = SEATS
    unique = {(r["seat"], r["start_ms"], r["state"]): {"center": center, **r} for r in batch.seats}
    rows = list(unique.values())
    ins = _insert(conn, t).on_conflict_do_nothing(
        index_elements=["center", "seat", "start_ms", "state"])
    res = await conn.execute(ins.returning(t.c.seat, t.c.start_ms, t.c.state), rows)
    fresh = {(r.seat, r.start_ms, r.state) for r in res}
    for key in fresh:
        add_interval(delta, unique[key])
    out.seats = len(fresh)


async def apply_rollups(conn: AsyncConnection, center: str, delta: dict[RowKey, cdr.Counts]) -> int:
    """Merge changed counters into the stored rollup rows; returns rows written."""
    if not delta:
        return 0
    t = ROLLUPS
    current: dict[RowKey, cdr.Counts] = {}
    days = sorted({k[0] for k in delta})
    for some in _chunks(days):  # every row of the touched days: an index range per day
        res = await conn.execute(select(t.c.day, t.c.dim, t.c.key, t.c.counts).where(
            t.c.center == center, t.c.day.in_(some)))
        current.update({(r.day, r.dim, r.key): json.loads(r.counts) for r in res
                        if (r.day, r.dim, r.key) in delta})
    rows = []
    for k, part in delta.items():
        merged = {f: v for f, v in cdr.merge(current.get(k, {}), part).items() if v}
        rows.append({"center": center, "day": k[0], "dim": k[1], "key": k[2],
                     "counts": json.dumps(merged, sort_keys=True)})
    ins = _insert(conn, t)
    await conn.execute(ins.on_conflict_do_update(
        index_elements=["center", "day", "dim", "key"], set_={"counts": ins.excluded.counts}), rows)
    return len(rows)
