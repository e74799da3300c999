"""Monitoring figures checked against a known set of calls driven through the webhooks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ivr.app import sweep_once
from ivr.clock import ManualClock
from ivr.core import kpi
from ivr.web.services import Services
from tests.conftest import Phone
from tests.twiml_helpers import follow

CALLER = "+8613812345678"


@pytest.fixture
def client(mclient: httpx.AsyncClient) -> httpx.AsyncClient:
    return mclient


async def known_calls(phone: Phone, svc: Services, clock: ManualClock) -> None:
    """Four calls on 12328 to the pool (all in one 15-minute bucket).

    CA1 answered after 3 s, talks 120 s; CA3 abandons after 2 s (short); CA2 abandons
    after 42 s; CA4 answered after 85 s, talks 60 s.
    """
    assert clock.now() % 900 == 0
    await phone.seat("p01", "login")
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    clock.advance(3)
    await phone.twiml("/voice/seat-answered?call=CA1&seat=p01", CallSid="CAc1",
                      ParentCallSid="CA1", CallStatus="in-progress")
    await phone.twiml("/voice/incoming", CallSid="CA2", From=CALLER, To="12328")
    clock.advance(2)
    await phone.twiml("/voice/incoming", CallSid="CA3", From=CALLER, To="12328")
    clock.advance(2)
    await phone.twiml("/voice/status", CallSid="CA3", CallStatus="completed")
    clock.advance(38)  # t = 45
    await phone.twiml("/voice/status", CallSid="CA2", CallStatus="completed")
    clock.advance(5)  # t = 50
    await phone.twiml("/voice/incoming", CallSid="CA4", From=CALLER, To="12328")
    clock.advance(73)  # t = 123
    await phone.twiml("/voice/dial-done?seat=p01", CallSid="CA1", DialCallStatus="completed",
                      DialCallDuration="120")
    await phone.twiml("/voice/status", CallSid="CA1", CallStatus="completed")
    clock.advance(10)
    await sweep_once(svc)  # wrap-up over: p01 takes CA4
    clock.advance(2)  # t = 135
    await phone.twiml("/voice/seat-answered?call=CA4&seat=p01", CallSid="CAc4",
                      ParentCallSid="CA4", CallStatus="in-progress")
    clock.advance(60)
    await phone.twiml("/voice/dial-done?seat=p01", CallSid="CA4", DialCallStatus="completed",
                      DialCallDuration="60")
    await phone.twiml("/voice/status", CallSid="CA4", CallStatus="completed")


def queue(report: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(q for q in report["queues"] if q["id"] == qid)


EXPECTED = {
    "offered": 4, "answered": 2, "abandoned": 2, "abandoned_short": 1, "abandoned_counted": 1,
    "answer_rate": 0.6667, "service_level": 0.3333, "asa_seconds": 44.0,
    "wait_avg_seconds": 33.0, "aht_seconds": 90.0, "handled_seconds": 180.0,
    # waits 2, 3 (bin <=5), 42 (<=45), 85 (<=90): p90 rank 3.6 -> 60 + 30 * 0.6
    "wait_p90_seconds": 78.0, "wait_p99_seconds": 88.8, "below_target": True,
}


async def test_figures_of_known_calls(phone: Phone, svc: Services, clock: ManualClock,
                                      client: httpx.AsyncClient) -> None:
    await known_calls(phone, svc, clock)
    report = (await client.get("/api/metrics")).json()
    pool = queue(report, "pool")
    for window in ("15m", "1h", "today"):
        f = pool["windows"][window]
        assert {k: f[k] for k in EXPECTED} == EXPECTED, window
    assert pool["live"]["seats"]["logged"] == 1
    assert pool["live"]["seats"]["wrapup"] == 1
    assert pool["live"]["waiting"] == 0
    assert pool["live"]["occupancy"] == 1.0
    assert queue(report, "sub-12366")["windows"]["today"]["offered"] == 0
    line = next(r for r in report["lines"] if r["number"] == "12328")["windows"]["today"]
    assert (line["calls"], line["offered"], line["answer_rate"]) == (4, 4, 0.6667)
    totals = report["totals"]["windows"]["today"]
    assert (totals["offered"], totals["answered"], totals["calls"]) == (4, 2, 4)
    assert report["totals"]["live"]["seats"]["logged"] == 1
    kinds = {(a["queue"], a["kind"], a["window"]) for a in report["alerts"]}
    assert kinds == {("pool", "answer_rate_below_target", w) for w in ("15m", "1h", "today")}
    assert "answer_rate" in report["definitions"]


async def test_filters_and_unknown_scope(phone: Phone, svc: Services, clock: ManualClock,
                                         client: httpx.AsyncClient) -> None:
    await known_calls(phone, svc, clock)
    by_queue = (await client.get("/api/metrics", params={"queue": "pool"})).json()
    assert [q["id"] for q in by_queue["queues"]] == ["pool"]
    assert all(r["queue"] == "pool" for r in by_queue["lines"])
    assert "totals" not in by_queue
    by_line = (await client.get("/api/metrics", params={"line": "12328"})).json()
    assert by_line["queues"] == []
    assert [r["number"] for r in by_line["lines"]] == ["12328"]
    assert by_line["lines"][0]["windows"]["15m"]["answered"] == 2
    assert (await client.get("/api/metrics", params={"queue": "nope"})).status_code == 404
    assert (await client.get("/api/metrics", params={"line": "999"})).status_code == 404


async def test_windows_move_on_and_history_keeps_intervals(
        phone: Phone, svc: Services, clock: ManualClock, client: httpx.AsyncClient) -> None:
    await known_calls(phone, svc, clock)
    start = kpi.bucket_of(clock.now())
    clock.advance(2 * 3600)  # 18:00 Shanghai: same day, outside the 15 min and 1 h windows
    pool = queue((await client.get("/api/metrics")).json(), "pool")
    assert pool["windows"]["15m"]["offered"] == 0
    assert pool["windows"]["1h"]["offered"] == 0
    assert pool["windows"]["15m"]["answer_rate"] is None
    assert pool["windows"]["today"]["offered"] == 4
    hist = (await client.get("/api/metrics/history", params={"hours": 3})).json()
    assert hist["interval_seconds"] == 900
    assert hist["scopes"][0]["scope"] == "center"
    points = {p["start"]: p for p in hist["scopes"][0]["points"]}
    assert len(points) == 12
    assert points[start]["answered"] == 2
    assert points[start]["answer_rate"] == 0.6667
    assert sum(p["offered"] for p in points.values()) == 4
    one = (await client.get("/api/metrics/history", params={"line": "12328"})).json()
    assert [s["scope"] for s in one["scopes"]] == ["line"]
    assert sum(p["offered"] for p in one["scopes"][0]["points"]) == 4
    clock.advance(6 * 3600)  # 00:00 Shanghai next day: today starts afresh
    pool = queue((await client.get("/api/metrics")).json(), "pool")
    assert pool["windows"]["today"]["offered"] == 0
    bad = await client.get("/api/metrics/history", params={"hours": 73})
    assert bad.status_code == 422


async def test_waiting_without_seats_and_longest_wait_alerts(
        phone: Phone, clock: ManualClock, client: httpx.AsyncClient) -> None:
    await phone.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    clock.advance(30)
    root = await phone.twiml("/voice/incoming", CallSid="CA2", From=CALLER, To="12358")
    await follow(phone, root, CallSid="CA2", From=CALLER)  # after the notice; other skill
    clock.advance(31)
    alerts = (await client.get("/api/alerts")).json()
    kinds = sorted((a["kind"], a["queue"]) for a in alerts["alerts"])
    assert kinds == [("longest_wait", "pool"), ("no_seat_logged_in", "pool")]
    longest = next(a for a in alerts["alerts"] if a["kind"] == "longest_wait")
    assert longest["value"] == 61.0
    assert longest["threshold"] == 60.0
    pool = queue((await client.get("/api/metrics")).json(), "pool")
    assert pool["live"]["waiting"] == 2
    assert pool["live"]["longest_wait_seconds"] == 61.0


async def test_sub_center_overflowing_for_three_intervals_alerts(
        phone: Phone, clock: ManualClock, client: httpx.AsyncClient) -> None:
    await phone.seat("p05", "login")  # pool seat; the sub-center has nobody: it overflows

    async def overflowing() -> bool:
        alerts = (await client.get("/api/alerts", params={"queue": "sub-12366"})).json()
        return any(a["kind"] == "overflowing" for a in alerts["alerts"])

    for i in range(3):
        assert not await overflowing(), i
        root = await phone.twiml("/voice/incoming", CallSid=f"CA{i}", From=CALLER, To="12366")
        await follow(phone, root, CallSid=f"CA{i}", From=CALLER)
        await phone.twiml("/voice/status", CallSid=f"CA{i}", CallStatus="completed")
        clock.advance(900)
    assert await overflowing(), "three intervals in a row, the current one not begun"
    clock.advance(900)
    assert not await overflowing()
    sub = queue((await client.get("/api/metrics")).json(), "sub-12366")
    assert sub["windows"]["today"]["overflow_out"] == 3


async def test_staffing_from_the_last_hour(phone: Phone, svc: Services, clock: ManualClock,
                                           client: httpx.AsyncClient) -> None:
    await known_calls(phone, svc, clock)
    clock.advance(900 - 195 + 450)  # half-way into the next bucket: 1 h window = 67.5 min
    rows = (await client.get("/api/staffing", params={"queue": "pool"})).json()["queues"]
    assert len(rows) == 1
    s = rows[0]
    assert s["window_seconds"] == 4050
    assert s["calls_per_hour"] == pytest.approx(4 * 3600 / 4050, abs=0.05)
    assert s["aht_seconds"] == 100.0  # talk 90 s + wrap-up 10 s
    assert s["patience_seconds"] == 66.0  # (3 + 85 + 2 + 42) s waited / 2 abandons
    assert s["model"] == "erlang-a"
    assert s["logged_in"] == 1
    assert s["seats_needed"] >= s["seats_for_answer_rate"] >= 1
    assert s["seats_needed"] >= s["seats_for_sl"] >= 1
    assert s["at_needed"]["answer_rate"] >= 0.99
    assert s["at_needed"]["service_level"] >= 0.8
    assert s["at_logged_in"]["seats"] == 1
    empty = (await client.get("/api/staffing", params={"queue": "sub-12360"})).json()
    assert empty["queues"][0]["seats_needed"] == 0
    assert (await client.get("/api/staffing", params={"queue": "x"})).status_code == 404
