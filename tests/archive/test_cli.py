"""``ivr archive`` and ``ivr report`` as a user runs them (Click), on both databases."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import openpyxl
from click.testing import CliRunner
from redis import Redis

from ivr.cli import main
from ivr.store.keys import Keys
from tests.archive.events import abandoned, answered


def test_archive_once_then_report(redis_url: str, center: str, db_url: str,
                                  tmp_path: Path) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    key = Keys(center).events()
    try:
        for ev in (answered("CA1", line="12366", queue="sub-12366"), answered("CA2"),
                   abandoned("CA3", line="12366", queue="sub-12366")):
            redis.xadd(key, {"e": "call", "d": json.dumps(ev)})
        env = {"IVR_REDIS_URL": redis_url, "IVR_CENTER": center, "IVR_DATABASE_URL": db_url,
               "IVR_DATA_DIR": str(tmp_path)}
        runner = CliRunner()
        res = runner.invoke(main, ["archive", "migrate"], env=env)
        assert res.exit_code == 0, res.output
        assert "revision 0001" in res.output
        res = runner.invoke(main, ["archive", "--once"], env=env)
        assert res.exit_code == 0, res.output
        assert "archived 3 events" in res.output
        res = runner.invoke(main, ["archive", "status"], env=env)
        assert json.loads(res.output)["pending"] == 0
        res = runner.invoke(main, ["report", "--group", "line", "--period", "day", "--value",
                                   "2027-01-15", "--format", "csv"], env=env)
        assert res.exit_code == 0, res.output
        rows = {r[0]: r for r in csv.reader(io.StringIO(res.output)) if r}
        assert rows["12366"][2:5] == ["2", "1", "1"]  # offered, answered, abandoned
        assert rows["total"][2] == "3"
        res = runner.invoke(main, ["report", "--group", "department", "--period", "month",
                                   "--value", "2027-01", "--rank"], env=env)
        assert res.exit_code == 0
        assert "12345政务服务便民热线中心" in res.output
        out = tmp_path / "q1.xlsx"
        res = runner.invoke(main, ["report", "--period", "quarter", "--value", "2027-Q1",
                                   "--format", "xlsx", "--output", str(out)], env=env)
        assert res.exit_code == 0, res.output
        ws = openpyxl.load_workbook(out).active
        assert ws["A2"].value in (None, "")  # the center row: 3 offered
        assert ws.cell(2, 3).value == 3
        res = runner.invoke(main, ["report", "--period", "month", "--value", "2027-13"], env=env)
        assert res.exit_code == 2
        assert "YYYY-MM" in res.output
    finally:
        redis.delete(key)
        redis.close()


async def callers(db_url: str, center: str) -> dict[str, str | None]:
    """Each archived call's caller column, by sid."""
    from sqlalchemy import select

    from ivr.archive.db import make_engine
    from ivr.archive.models import CALLS

    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            return {r.sid: r.caller for r in await conn.execute(
                select(CALLS).where(CALLS.c.center == center))}
    finally:
        await engine.dispose()


def test_archive_prune_applies_the_retention(redis_url: str, center: str, db_url: str,
                                             tmp_path: Path) -> None:
    """``ivr archive --prune``: records past the retention go, older callers are erased."""
    import time

    redis = Redis.from_url(redis_url, decode_responses=True)
    key = Keys(center).events()
    day = 86_400_000
    now = int(time.time() * 1000)
    try:
        for sid, age in (("OLD", 400), ("MID", 100), ("NEW", 1)):
            redis.xadd(key, {"e": "call", "d": json.dumps(answered(sid, t=now - age * day))})
        env = {"IVR_REDIS_URL": redis_url, "IVR_CENTER": center, "IVR_DATABASE_URL": db_url,
               "IVR_DATA_DIR": str(tmp_path), "IVR_ARCHIVE_RETENTION_DAYS": "365",
               "IVR_ARCHIVE_CALLER_DAYS": "30"}
        runner = CliRunner()
        assert runner.invoke(main, ["archive", "--once"], env=env).exit_code == 0
        res = runner.invoke(main, ["archive", "--prune"], env=env)
        assert res.exit_code == 0, res.output
        assert "deleted 1 call records" in res.output
        assert "erased 1 callers" in res.output
        rows = asyncio.run(callers(db_url, center))
        assert rows == {"MID": None, "NEW": "138****5678"}
        res = runner.invoke(main, ["archive", "--prune"], env=env)
        assert "deleted 0 call records" in res.output
        assert "erased 0 callers" in res.output
    finally:
        redis.delete(key)
        redis.close()
