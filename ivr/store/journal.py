"""Call events kept on disk while Redis is away, and applied in order when it is back.

Twilio tells us once that a talk ended (the ``<Dial>`` action) or that a call ended
(the status callback). If Redis is unreachable at that moment the event must not be
lost, or the seat stays ``talking`` until the stale-call sweep. A worker that cannot
apply such an event appends it here (``op``, its arguments and the time it arrived)
and answers Twilio normally; the sweeper replays the journal as soon as Redis answers,
with each event's own time, so talk and wait durations come out as they really were.
Replays are safe to repeat: every event script is idempotent.

Each worker writes its own file and holds an exclusive ``flock`` on it while it lives.
A file whose lock can be taken belongs to a worker that died: the replayer adopts it.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("ivr.journal")

Arg = str | int | float
#: Applies one kept event: (op, args, time in ms) -> the calls to redirect afterwards.
Apply = Callable[[str, Sequence[Arg], int], Awaitable[list[str]]]
#: Failures that mean "Redis is away": keep the event (anything else is a bug).
OUTAGE = (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError)


class Journal:
    """A worker's journal of call events not yet applied to Redis."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / f"events-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        self._file: IO[str] | None = None
        self._kept = 0  # events written to this worker's file and not yet replayed
        self._lock = asyncio.Lock()

    def keep(self, op: str, args: Sequence[Arg], at_ms: int) -> None:
        """Append one event, flushed to disk before the webhook is answered."""
        if self._file is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held open; read back by replay)
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._file.write(json.dumps({"op": op, "args": list(args), "at": at_ms}) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._kept += 1

    def pending(self) -> bool:
        """Whether this worker has kept events that are not applied yet."""
        return self._kept > 0

    async def replay(self, apply: Apply) -> list[str]:
        """Apply kept events (ours, then those of dead workers); returns calls to redirect.

        Stops at the first event that meets the outage again; it stays for the next round.
        """
        redirect: list[str] = []
        async with self._lock:
            if self._file is not None and self._kept:
                if await self._replay_file(self.path, self._file, apply, redirect):
                    self._file.seek(0)
                    self._file.truncate()
                    self._kept = 0
                else:
                    return redirect
            for path in sorted(self.folder.glob("events-*.jsonl")) if self.folder.is_dir() else []:
                if path != self.path and not await self._adopt(path, apply, redirect):
                    break
        return redirect

    async def _adopt(self, path: Path, apply: Apply, redirect: list[str]) -> bool:
        """Replay and remove a dead worker's file; False if the outage is still on."""
        try:  # off the event loop: the file may sit on a slow disk
            handle = await asyncio.to_thread(open, path, "r+", encoding="utf-8")
        except FileNotFoundError:
            return True
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its worker lives and replays it itself
                return True
            if not await self._replay_file(path, handle, apply, redirect):
                return False
            await asyncio.to_thread(path.unlink, missing_ok=True)
        return True

    async def _replay_file(self, path: Path, handle: IO[str], apply: Apply,
                           redirect: list[str]) -> bool:
        """Apply a file's events in order, rewriting it with the rest on an outage."""
        handle.seek(0)
        lines = [line for line in handle.read().splitlines() if line.strip()]
        applied = 0
        for i, line in enumerate(lines):
            try:
                event: dict[str, Any] = json.loads(line)
                redirect += await apply(str(event["op"]), event["args"], int(event["at"]))
                applied += 1
            except OUTAGE:
                handle.seek(0)
                handle.truncate()
                handle.write("".join(rest + "\n" for rest in lines[i:]))
                handle.flush()
                return False
            except (ResponseError, ValueError, KeyError, TypeError):
                log.exception("journal %s: dropped an event that cannot be applied: %s",
                              path.name, line[:200])
        if lines:
            log.warning("journal %s: applied %d of %d call event(s) kept while Redis was away",
                        path.name, applied, len(lines))
        return True

    def close(self) -> None:
        """Release this worker's file (kept on disk if it still holds events)."""
        if self._file is not None:
            self._file.close()
            self._file = None
            if not self._kept:
                self.path.unlink(missing_ok=True)
