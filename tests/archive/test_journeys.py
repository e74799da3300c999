"""Calls through the webhooks end up archived; reports equal the live monitor for the day."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import openpyxl
from sqlalchemy import select

from ivr.archive.lag import archive_lag
from ivr.archive.models import CALLS
from ivr.clock import ManualClock
from ivr.core.numbers import mask
from ivr.settings import DEV_MONITOR_TOKEN
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services
from tests.conftest import Phone
from tests.web.test_service12345 import answer_and_finish, seat_post

CALLER = "+8613812345678"
MON = {"Authorization": f"Bearer {DEV_MONITOR_TOKEN}"}
SAME = ("offered", "answered", "abandoned", "abandoned_short", "answer_rate", "asa_seconds",
        "wait_p90_seconds", "aht_seconds", "service_level", "callbacks_requested", "calls",
        "ended_in_ivr", "transferred", "transfers", "excluded")
RATES = ("response_rate", "resolution_rate", "satisfaction_rate", "rated", "disposed", "resolved")


async def caught_up(svc: Services, app: Any) -> None:
    """Wait until the app's own consumer has archived every event."""
    for _ in range(200):
        lag = await archive_lag(svc.store().redis, svc.store().keys, 0)
        arc = app.state.archive
        if arc.ready.is_set() and lag["group"] and not lag["pending"] and not lag["undelivered"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"archive did not catch up: {lag}")


async def drive_calls(phone: Phone, clock: ManualClock) -> None:
    await phone.seat("p01", "login")
    clock.advance(5)  # ready for 5 s before the first call
    for sid, rating, cat, resolved in (("CA1", "1", "complaint", True), ("CA2", "3", "help", False)):
        await phone.twiml("/voice/incoming", CallSid=sid, From=CALLER, To="12328")
        clock.advance(3)
        root = await answer_and_finish(phone, clock, sid, "p01", talk=90 if sid == "CA1" else 200)
        gather = root.find("Gather")
        assert gather is not None
        await phone.twiml(gather.get("action") or "", CallSid=sid, Digits=rating)
        resp = await seat_post(phone, "p01", "disposition",
                               {"category": cat, "resolved": resolved, "department": "税务局"})
        assert resp.status_code == 200, resp.text
        await phone.twiml("/voice/status", CallSid=sid, CallStatus="completed")
        await phone.seat("p01", "ready")
    await phone.seat("p01", "break")
    for sid, wait in (("CA3", 2), ("CA4", 40)):  # nobody ready: one short, one long abandon
        await phone.twiml("/voice/incoming", CallSid=sid, From=CALLER, To="12328")
        clock.advance(wait)
        await phone.twiml("/voice/status", CallSid=sid, CallStatus="completed")
    root = await phone.twiml("/voice/incoming", CallSid="CA5", From=CALLER, To="12345")
    gather = root.find("Gather")
    assert gather is not None
    await phone.twiml(gather.get("action") or "", CallSid="CA5", From=CALLER, Digits="1")
    await phone.twiml("/voice/status", CallSid="CA5", CallStatus="completed")


async def test_webhook_calls_are_archived_and_reports_match_the_live_monitor(
        app_env: dict[str, Any], phone: Phone, svc: Services, clock: ManualClock) -> None:
    await drive_calls(phone, clock)
    client = app_env["client"]
    await caught_up(svc, app_env["app"])
    live = (await client.get("/api/metrics", headers=MON)).json()
    rates = (await client.get("/api/rates", headers=MON)).json()
    resp = await client.get("/api/reports", params={"group": "line", "period": "day"}, headers=MON)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    rows = {r["key"]: r for r in report["rows"]}
    assert set(rows) == {"12328", "12345"}
    for number in ("12328", "12345"):
        today = next(x for x in live["lines"] if x["number"] == number)["windows"]["today"]
        for k in SAME:
            assert rows[number][k] == today[k], (number, k, rows[number][k], today[k])
        for k in RATES:
            assert rows[number][k] == rates["lines"][number][k], (number, k)
    r = rows["12328"]
    assert (r["offered"], r["answered"], r["abandoned"], r["abandoned_short"]) == (4, 2, 2, 1)
    assert r["talk_max_seconds"] == 200
    assert r["talk_avg_seconds"] == 145
    assert r["satisfaction_rate"] == 0.5
    assert r["resolution_rate"] == 0.5
    assert rows["12345"]["transfers"] == {"police": 1}
    raw = (await client.get("/api/reports", params={"group": "line", "source": "raw"},
                            headers=MON)).json()
    assert raw["rows"] == report["rows"]
    assert raw["total"] == report["total"]
    seat = (await client.get("/api/reports/seats/p01", params={"period": "day"},
                             headers=MON)).json()
    assert seat["record"]["answered"] == 2
    assert seat["record"]["handled_seconds"] == 290
    assert seat["record"]["ready_seconds"] == 5
    assert seat["record"]["occupancy"] is not None


async def test_exports_and_ranking(app_env: dict[str, Any], phone: Phone, svc: Services,
                                   clock: ManualClock) -> None:
    await drive_calls(phone, clock)
    client = app_env["client"]
    await caught_up(svc, app_env["app"])
    resp = await client.get("/api/reports", params={"group": "department", "format": "csv"},
                            headers=MON)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(resp.text.lstrip("\ufeff"))))
    assert table[0][:4] == ["key", "name", "offered", "answered"]
    assert table[-1][0] == "total"
    assert table[-1][2] == "4"  # offered; the transfer never queued
    resp = await client.get("/api/reports", params={"group": "hour", "format": "xlsx"},
                            headers=MON)
    assert resp.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(resp.content)).active
    assert ws["A1"].value == "key"
    assert ws.max_row >= 3
    rank = (await client.get("/api/reports/departments/ranking", headers=MON)).json()
    assert [r["rank"] for r in rank["rows"]] == list(range(1, len(rank["rows"]) + 1))
    assert {r["key"] for r in rank["rows"]} >= {"12345政务服务便民热线中心"}


async def test_bad_input_gets_a_4xx_naming_the_problem(app_env: dict[str, Any]) -> None:
    client = app_env["client"]
    assert (await client.get("/api/reports")).status_code == 401
    bad = await client.get("/api/reports", params={"period": "month", "value": "2027-13"},
                           headers=MON)
    assert bad.status_code == 422
    assert "YYYY-MM" in bad.text
    bad = await client.get("/api/reports", params={"period": "range", "from": "2027-02-01",
                                                   "to": "2027-01-01"}, headers=MON)
    assert bad.status_code == 422
    assert "before it starts" in bad.text
    bad = await client.get("/api/reports", params={"group": "planet"}, headers=MON)
    assert bad.status_code == 422
    assert (await client.get("/api/reports/seats/nobody", headers=MON)).status_code == 404


async def test_callback_number_is_kept_only_until_the_callback_ends(
        app_env: dict[str, Any], phone: Phone, svc: Services, clock: ManualClock,
        control: RecordingCallControl) -> None:
    """The number to call back lives in Redis while the callback is pending, is erased when
    the call ends, and never reaches the archive; the caller is archived masked."""
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    clock.advance(61)
    await phone.twiml("/voice/callback-offer?lang=zh-CN", CallSid="CA1", From=CALLER, Digits="1")
    await phone.twiml("/voice/status", CallSid="CA1", CallStatus="completed")
    assert (await svc.store().call_info("CA1"))["cbn"] == CALLER, "needed for the callback"
    await phone.seat("p01", "login")
    created = control.created()
    await phone.twiml(created[0]["url"], CallSid="CBleg1", From="12328", To=CALLER)
    await answer_and_finish(phone, clock, "CA1", "p01")
    await phone.twiml(created[0]["status_callback"], CallSid="CBleg1", CallStatus="completed")
    info = await svc.store().call_info("CA1")
    assert info["st"] == "ended", info
    assert "cbn" not in info, info
    await caught_up(svc, app_env["app"])
    engine = app_env["app"].state.archive.engine
    async with engine.connect() as conn:
        row = (await conn.execute(select(CALLS).where(
            CALLS.c.center == svc.settings.center, CALLS.c.sid == "CA1"))).one()
    assert row.callback == "1"
    assert row.outcome == "answered"
    assert row.caller == mask(CALLER)
    assert "5678" in row.caller
    assert "1234" not in row.caller
    assert not [v for v in row if isinstance(v, str) and CALLER[3:] in v], row
