"""The archive: call records, seat intervals, daily rollups.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three tables."""
    s, i, b = sa.String, sa.Integer, sa.BigInteger
    op.create_table(
        "call_records",
        sa.Column("center", s(32), nullable=False), sa.Column("sid", s(128), nullable=False),
        sa.Column("version", s(32), nullable=False), sa.Column("day", i, nullable=False),
        sa.Column("line", s(64)), sa.Column("caller", s(64)), sa.Column("queue", s(64)),
        sa.Column("skill", s(64)), sa.Column("priority", i), sa.Column("overflow_from", s(64)),
        sa.Column("seat", s(64)), sa.Column("outcome", s(160)),
        *(sa.Column(n, b) for n in ("t_ivr", "t_queue", "t_arrival", "t_offer", "t_answer",
                                    "t_end", "wait_ms", "talk_ms")),
        sa.Column("callback", s(1)), sa.Column("callback_attempts", i),
        sa.Column("language", s(16)), sa.Column("rating", s(1)), sa.Column("category", s(32)),
        sa.Column("resolved", s(1)), sa.Column("department", s(128)),
        sa.Column("handoff", s(160)), sa.Column("flow", s(64)), sa.Column("flow_rev", s(32)),
        sa.Column("path", sa.Text), sa.Column("extra", sa.Text),
        sa.PrimaryKeyConstraint("sid", "center"),  # sid first: look-ups by sid probe the index
    )
    op.create_index("ix_call_records_day", "call_records", ["center", "day"])
    op.create_table(
        "seat_intervals",
        sa.Column("center", s(32), primary_key=True), sa.Column("seat", s(64), primary_key=True),
        sa.Column("start_ms", b, primary_key=True), sa.Column("state", s(16), primary_key=True),
        sa.Column("end_ms", b, nullable=False), sa.Column("next_state", s(16)),
        sa.Column("call", s(128)), sa.Column("day", i, nullable=False),
    )
    op.create_index("ix_seat_intervals_day", "seat_intervals", ["center", "day"])
    op.create_table(
        "rollups",
        sa.Column("center", s(32), primary_key=True), sa.Column("day", i, primary_key=True),
        sa.Column("dim", s(8), primary_key=True), sa.Column("key", s(128), primary_key=True),
        sa.Column("counts", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop the three tables."""
    for table in ("rollups", "seat_intervals", "call_records"):
        op.drop_table(table)
