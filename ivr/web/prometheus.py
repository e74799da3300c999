"""Prometheus exposition of one monitoring report: today's counters, waits, gauges, alerts.

Counters are today's (Asia/Shanghai), so they reset at midnight and carry that as their
``created`` time; gauges are the report's windows and live state. The route that serves
them (``/metrics``, with its own token) is in :mod:`ivr.web.monitor`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from ivr.core import kpi
from ivr.core.rates import DEFINITIONS as RATE_DEFINITIONS
from ivr.core.rates import three_rates

QUEUE_COUNTERS = (
    ("offered", "ivr_calls_offered", "Calls that entered the queue"),
    ("answered", "ivr_calls_answered", "Calls answered by a seat"),
    ("abandoned", "ivr_calls_abandoned", "Callers who hung up waiting (short ones included)"),
    ("abandoned_short", "ivr_calls_abandoned_short", "Abandons within the short threshold"),
    ("sl_answered", "ivr_calls_answered_within_sl", "Calls answered within the SL threshold"),
    ("overflow_out", "ivr_calls_overflow_out", "Calls moved to the overflow queue"),
    ("overflow_in", "ivr_calls_overflow_in", "Calls taken in from another queue"),
    ("noanswer", "ivr_seat_noanswer", "Offers a seat did not pick up"),
    ("callback_requested", "ivr_callbacks_requested", "Waiting callers who asked for a call back"),
    ("callback_failed", "ivr_callbacks_failed", "Call backs given up after every attempt"),
)
LINE_COUNTERS = (
    ("calls", "ivr_line_calls", "Calls that reached the service on the line"),
    ("offered", "ivr_line_calls_offered", "Calls of the line that entered a queue"),
    ("answered", "ivr_line_calls_answered", "Calls of the line answered by a seat"),
    ("abandoned", "ivr_line_calls_abandoned", "Calls of the line abandoned while waiting"),
    ("abandoned_short", "ivr_line_calls_abandoned_short", "Short abandons of the line"),
    ("ended_in_ivr", "ivr_line_calls_ended_in_ivr", "Calls of the line that ended in the IVR"),
)


class SnapshotCollector:
    """A Prometheus collector over one report: counters are today's (reset at midnight)."""

    def __init__(self, report: dict[str, Any], staffing: list[dict[str, Any]]) -> None:
        self.report, self.staffing = report, staffing
        self.created = float(kpi.day_start(report["now"]))

    def _counters(self, rows: list[dict[str, Any]], spec: tuple[tuple[str, str, str], ...],
                  label: str, key: str) -> Iterator[Metric]:
        for field, name, doc in spec:
            fam = CounterMetricFamily(name, doc + " (today, Asia/Shanghai)", labels=[label])
            for r in rows:
                fam.add_metric([r[key]], r["counts_today"].get(field, 0), created=self.created)
            yield fam

    def collect(self) -> Iterator[Metric]:
        """Every family, built from the report."""
        queues, lines = self.report["queues"], self.report.get("lines", [])
        yield from self._counters(queues, QUEUE_COUNTERS, "queue", "id")
        yield from self._counters(lines, LINE_COUNTERS, "line", "number")
        talk = CounterMetricFamily("ivr_talk_seconds", "Talk time (today)", labels=["queue"])
        wait = HistogramMetricFamily("ivr_queue_wait_seconds", "Waits of answered and "
                                     "abandoned calls (today)", labels=["queue", "outcome"])
        for q in queues:
            c = q["counts_today"]
            talk.add_metric([q["id"]], c.get("handled_ms", 0) / 1000, created=self.created)
            for outcome, prefix, ms in (("answered", "wa", "wait_answered_ms"),
                                        ("abandoned", "wb", "wait_abandoned_ms")):
                bins, cum, buckets = kpi.wait_bins(c, prefix), 0, []
                for ub in (*map(str, kpi.BOUNDS), "inf"):
                    cum += bins[ub]
                    buckets.append(("+Inf" if ub == "inf" else f"{float(ub)}", float(cum)))
                wait.add_metric([q["id"], outcome], buckets, c.get(ms, 0) / 1000)
        yield talk
        yield wait
        yield from self._gauges(queues)
        yield from self._three_rates(queues, lines)

    def _three_rates(self, queues: list[dict[str, Any]],
                     lines: list[dict[str, Any]]) -> Iterator[Metric]:
        """Response, resolution and satisfaction rates today (definitions: ivr.core.rates)."""
        for scope, rows, key in (("queue", queues, "id"), ("line", lines, "number")):
            for rate in ("response", "resolution", "satisfaction"):
                fam = GaugeMetricFamily(f"ivr_{scope}_{rate}_ratio",
                                        f"{RATE_DEFINITIONS[rate + '_rate']} (today)",
                                        labels=[scope])
                for r in rows:
                    value = three_rates(r["counts_today"])[f"{rate}_rate"]
                    if value is not None:
                        fam.add_metric([r[key]], value)
                yield fam

    def _gauges(self, queues: list[dict[str, Any]]) -> Iterator[Metric]:
        def gauge(name: str, doc: str, *labels: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=["queue", *labels])
        g = {
            "rate": gauge("ivr_answer_ratio", "answered/(answered+abandoned-short)", "window"),
            "target": gauge("ivr_answer_ratio_target", "Answer-rate target of the queue"),
            "sl": gauge("ivr_service_level_ratio", "Answered within SL / counted", "window"),
            "asa": gauge("ivr_asa_seconds", "Average speed of answer", "window"),
            "waiting": gauge("ivr_queue_waiting_calls", "Calls waiting now"),
            "longest": gauge("ivr_queue_longest_wait_seconds", "Longest wait now"),
            "logged": gauge("ivr_seats_logged_in", "Seats logged in to the queue"),
            "seats": gauge("ivr_seats", "Logged-in seats by state", "state"),
            "occ": gauge("ivr_seat_occupancy_ratio", "Busy / (busy + ready) seats now"),
            "alert": gauge("ivr_alert", "1 while an alert of this kind is active", "kind"),
            "need": gauge("ivr_staffing_seats_needed", "Seats needed for the targets"),
        }
        active = {(a["queue"], a["kind"]) for a in self.report["alerts"]}
        for q in queues:
            qid, live = q["id"], q["live"]
            g["target"].add_metric([qid], q["target_answer_rate"])
            for w, f in q["windows"].items():
                for k, v in (("rate", f["answer_rate"]), ("sl", f["service_level"]),
                             ("asa", f["asa_seconds"])):
                    if v is not None:
                        g[k].add_metric([qid, w], v)
            g["waiting"].add_metric([qid], live["waiting"])
            g["longest"].add_metric([qid], live["longest_wait_seconds"])
            g["logged"].add_metric([qid], live["seats"]["logged"])
            for state in kpi.SEAT_STATES:
                g["seats"].add_metric([qid, state], live["seats"][state])
            if live["occupancy"] is not None:
                g["occ"].add_metric([qid], live["occupancy"])
            for kind in ALERT_KINDS:
                g["alert"].add_metric([qid, kind], float((qid, kind) in active))
        for s in self.staffing:
            if s["seats_needed"] is not None:
                g["need"].add_metric([s["queue"]], s["seats_needed"])
        yield from g.values()


ALERT_KINDS = ("answer_rate_below_target", "longest_wait", "no_seat_logged_in", "overflowing")
