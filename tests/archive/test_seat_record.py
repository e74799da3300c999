"""A seat's own record for team leads: calls, talk, ready and break time, occupancy, satisfaction.

The record comes from the rollups (``/api/reports/seats/{seat}``); it must equal the same
seat's row computed from raw call rows and seat intervals (``source=raw``), on PostgreSQL
and on SQLite.
"""

from __future__ import annotations

from typing import Any

from ivr.clock import ManualClock
from ivr.web.services import Services
from tests.archive.test_journeys import MON, caught_up, drive_calls
from tests.conftest import Phone


async def test_a_seats_own_record(app_env: dict[str, Any], phone: Phone, svc: Services,
                                  clock: ManualClock) -> None:
    # p01: ready 5 s; CA1 offered 3 s, talks 90 s (rated 1, resolved); CA2 offered 3 s,
    # talks 200 s (rated 3); then on break through two abandoned calls (2 s + 40 s) and 18 s
    # more; logs out, which closes the break interval
    await drive_calls(phone, clock)
    clock.advance(18)
    resp = await phone.seat("p01", "logout")
    assert resp.status_code == 200, resp.text
    await caught_up(svc, app_env["app"])
    client = app_env["client"]
    resp = await client.get("/api/reports/seats/p01", params={"period": "day"}, headers=MON)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    rec = body["record"]
    assert body["seat"] == "p01"
    assert rec["key"] == "p01"
    assert (rec["offered"], rec["answered"], rec["handled_seconds"]) == (2, 2, 290), rec
    assert (rec["asa_seconds"], rec["aht_seconds"]) == (3, 145), rec
    assert (rec["talk_avg_seconds"], rec["talk_max_seconds"]) == (145, 200), rec
    assert (rec["ready_seconds"], rec["break_seconds"]) == (5, 60), rec
    assert rec["occupancy"] == round(296 / 301, 4), rec  # (3 + 90 + 3 + 200) / (that + 5 ready)
    assert (rec["rated"], rec["satisfaction_rate"]) == (2, 0.5), rec
    assert (rec["disposed"], rec["resolution_rate"]) == (2, 0.5), rec
    today = [d for d in body["days"] if d["answered"]]
    assert len(today) == 1
    assert today[0]["break_seconds"] == 60
    assert today[0]["answered"] == 2
    raw = (await client.get("/api/reports", params={"group": "seat", "period": "day",
                                                    "source": "raw"}, headers=MON)).json()
    assert next(r for r in raw["rows"] if r["key"] == "p01") == rec, "rollups = raw rows"
    other = (await client.get("/api/reports/seats/p02", params={"period": "day"},
                              headers=MON)).json()["record"]
    assert other["answered"] == 0
    assert other["occupancy"] is None
    assert other["break_seconds"] == 0
