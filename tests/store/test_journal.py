"""The journal of call events kept while Redis is away (``ivr.store.journal``).

The events are applied by a function given to ``replay``; these tests hand it one that
records what it was given, or that meets the outage again, so the journal's own promises
are checked without a Redis: order kept, times kept, nothing lost on a second outage,
a dead worker's file adopted, a live worker's file left to it.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from ivr.store.journal import Arg, Journal


class Applier:
    """Records applied events; raises the outage for the first ``fail`` calls."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.applied: list[tuple[str, list[Arg], int]] = []

    async def __call__(self, op: str, args: Sequence[Arg], at_ms: int) -> list[str]:
        if self.fail:
            self.fail -= 1
            raise RedisConnectionError("Redis is away")
        self.applied.append((op, list(args), at_ms))
        return [f"redirect-{op}"]


async def test_kept_events_are_replayed_in_order_with_their_times(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.keep("dial_done", ["CA1", "seat1", "completed", 30], 1_000)
    journal.keep("hangup", ["CA1", "completed", ""], 2_000)
    assert journal.pending()
    apply = Applier()
    assert await journal.replay(apply) == ["redirect-dial_done", "redirect-hangup"]
    assert apply.applied == [("dial_done", ["CA1", "seat1", "completed", 30], 1_000),
                             ("hangup", ["CA1", "completed", ""], 2_000)]
    assert not journal.pending()
    assert await journal.replay(Applier()) == [], "an applied event is not applied twice"
    journal.close()
    assert not list(tmp_path.glob("events-*.jsonl")), "an empty journal leaves no file"


async def test_an_outage_during_replay_keeps_the_rest_for_the_next_round(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    for n in range(3):
        journal.keep("hangup", [f"CA{n}", "completed", ""], n)
    first = Applier(fail=1)
    assert await journal.replay(first) == []
    assert first.applied == []
    assert journal.pending()
    journal.keep("hangup", ["CA3", "completed", ""], 3)  # kept after the failed round
    second = Applier()
    await journal.replay(second)
    assert [a[1][0] for a in second.applied] == ["CA0", "CA1", "CA2", "CA3"]
    journal.close()


async def test_a_dead_workers_file_is_adopted_and_a_live_ones_left(tmp_path: Path) -> None:
    dead = tmp_path / "events-1-dead.jsonl"
    dead.write_text(json.dumps({"op": "hangup", "args": ["CAdead", "completed", ""], "at": 5}) + "\n")
    live = tmp_path / "events-2-live.jsonl"
    live.write_text(json.dumps({"op": "hangup", "args": ["CAlive", "completed", ""], "at": 6}) + "\n")
    with open(live, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # its worker still runs
        journal = Journal(tmp_path)
        apply = Applier()
        await journal.replay(apply)
        assert [a[1][0] for a in apply.applied] == ["CAdead"]
        assert not dead.exists()
        assert live.exists()
        journal.close()


@pytest.mark.error_log("dropped an event that cannot be applied")
async def test_an_event_that_cannot_be_read_is_logged_and_the_rest_applied(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "events-1-dead.jsonl").write_text(
        "{not json\n" + json.dumps({"op": "hangup", "args": ["CA9", "completed", ""], "at": 9}) + "\n")
    apply = Applier()
    await Journal(tmp_path).replay(apply)
    assert [a[1][0] for a in apply.applied] == ["CA9"]
    assert "applied 1 of 2 call event(s)" in caplog.text, "a dropped event is not counted applied"
