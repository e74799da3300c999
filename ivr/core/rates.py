"""The three rates a 12345 handling unit is assessed on (接诉即办). Pure.

Definitions (all over the same calls, per line, per queue or for the center):

- response rate (响应率) = calls answered by a person / calls that asked for one
  (entered a queue; a caller who asked for a callback counts once, answered when the
  callback connected);
- resolution rate (解决率) = calls the seat recorded as resolved / answered calls that
  have a disposition;
- satisfaction rate (满意率) = (satisfied + basically satisfied) / calls rated in the
  after-call survey.

A rate is None when nothing was counted under it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFINITIONS = {
    "response_rate": "answered by a person / calls that asked for a person (entered a queue)",
    "resolution_rate": "resolved / answered calls with a disposition",
    "satisfaction_rate": "(satisfied + basically satisfied) / calls rated in the survey",
}
CATEGORIES = ("question", "help", "complaint", "report", "suggestion")


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def three_rates(c: Mapping[str, int]) -> dict[str, Any]:
    """The three rates and the counts behind them, from summed counters."""
    g = c.get
    return {
        "response_rate": _ratio(g("answered", 0), g("offered", 0)),
        "resolution_rate": _ratio(g("resolved", 0), g("disposed", 0)),
        "satisfaction_rate": _ratio(g("rated_1", 0) + g("rated_2", 0), g("rated", 0)),
        "asked": g("offered", 0), "answered": g("answered", 0),
        "disposed": g("disposed", 0), "resolved": g("resolved", 0), "handed": g("handed", 0),
        "rated": g("rated", 0), "satisfied": g("rated_1", 0),
        "basically_satisfied": g("rated_2", 0), "dissatisfied": g("rated_3", 0),
        "categories": {k: g(f"cat:{k}", 0) for k in CATEGORIES},
        "callbacks": {"requested": g("callback_requested", 0),
                      "connected": g("callback_connected", 0),
                      "failed": g("callback_failed", 0)},
    }
