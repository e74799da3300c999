"""The archive's tables (SQLAlchemy 2 declarative); changed only through Alembic migrations."""

from __future__ import annotations

from typing import cast

from sqlalchemy import BigInteger, Index, Integer, MetaData, PrimaryKeyConstraint, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the archive's tables."""

    metadata = MetaData()


class CallRecord(Base):
    """One call's detail record, the latest version the stream delivered (``version``)."""

    __tablename__ = "call_records"
    # sid first: a batch's look-up by sid stays an index probe whatever the statistics say
    __table_args__ = (PrimaryKeyConstraint("sid", "center"),
                      Index("ix_call_records_day", "center", "day"))

    center: Mapped[str] = mapped_column(String(32), primary_key=True)
    sid: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))  # stream id, zero-padded: sorts as text
    day: Mapped[int] = mapped_column(Integer)  # arrival day (days since 1970, Asia/Shanghai)
    line: Mapped[str | None] = mapped_column(String(64))
    caller: Mapped[str | None] = mapped_column(String(64))  # masked; erased after caller_days
    queue: Mapped[str | None] = mapped_column(String(64))
    skill: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int | None] = mapped_column(Integer)
    overflow_from: Mapped[str | None] = mapped_column(String(64))
    seat: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(160))
    t_ivr: Mapped[int | None] = mapped_column(BigInteger)
    t_queue: Mapped[int | None] = mapped_column(BigInteger)
    t_arrival: Mapped[int | None] = mapped_column(BigInteger)
    t_offer: Mapped[int | None] = mapped_column(BigInteger)
    t_answer: Mapped[int | None] = mapped_column(BigInteger)
    t_end: Mapped[int | None] = mapped_column(BigInteger)
    wait_ms: Mapped[int | None] = mapped_column(BigInteger)
    talk_ms: Mapped[int | None] = mapped_column(BigInteger)
    callback: Mapped[str | None] = mapped_column(String(1))
    callback_attempts: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(16))
    rating: Mapped[str | None] = mapped_column(String(1))
    category: Mapped[str | None] = mapped_column(String(32))
    resolved: Mapped[str | None] = mapped_column(String(1))
    department: Mapped[str | None] = mapped_column(String(128))  # the disposition's
    handoff: Mapped[str | None] = mapped_column(String(160))
    flow: Mapped[str | None] = mapped_column(String(64))
    flow_rev: Mapped[str | None] = mapped_column(String(32))
    path: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[str | None] = mapped_column(Text)  # JSON of fields this table has no column for


class SeatInterval(Base):
    """One seat state interval; the key (center, seat, start, state) makes it idempotent."""

    __tablename__ = "seat_intervals"
    __table_args__ = (Index("ix_seat_intervals_day", "center", "day"),)

    center: Mapped[str] = mapped_column(String(32), primary_key=True)
    seat: Mapped[str] = mapped_column(String(64), primary_key=True)
    start_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    next_state: Mapped[str | None] = mapped_column(String(16))
    call: Mapped[str | None] = mapped_column(String(128))
    day: Mapped[int] = mapped_column(Integer)


class Rollup(Base):
    """Summed counters (JSON) of one day and one dimension key (see ``ivr.core.cdr``)."""

    __tablename__ = "rollups"

    center: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    dim: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    counts: Mapped[str] = mapped_column(Text)


CALLS = cast(Table, CallRecord.__table__)
SEATS = cast(Table, SeatInterval.__table__)
ROLLUPS = cast(Table, Rollup.__table__)
