"""The simulator's own Redis reads, on one blocking socket of their own.

The simulator reads Redis only between wake-ups (the next due timer, the
work-conservation probe, samples, the outcome checks), when every simulated task sleeps
and every request to the service has had its answer: a read then sees all the service
wrote, whichever connection it comes on. Through redis-py's asyncio client each such
round trip cost about 100 µs of CPU (command packing, the connection pool, a timeout
context, futures and an event-loop turn) against 4-10 µs for the same bytes on a plain
blocking socket, and the simulator made more round trips than the service it drives.

:class:`WirePipe` queues the same commands a redis-py pipeline takes (the few the
simulator uses) and answers them shaped as redis-py answers (decoded strings; ``ZRANGE
... WITHSCORES`` as ``(member, score)`` pairs; ``HGETALL`` as a dict; ``SMEMBERS`` as a
set). :class:`WireReader` answers the one-key reads of the full invariant checks
(``ivr.store.invariants.violations``, the counter scan) as redis-py's client does.
Replies are parsed by ``hiredis``. :func:`pipelines` gives pipes on a :class:`Wire` to
the client's own server, or plain redis-py pipelines for a Redis Cluster or a TLS
connection (the checks then read through redis-py too).
"""

from __future__ import annotations

import contextlib
import functools
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import hiredis
from redis.exceptions import ResponseError

Convert = Callable[[Any], Any]
Command = tuple[str | int | float | bytes, ...]
_UNREAD = object()


@functools.lru_cache(maxsize=1 << 14)  # the same probes and look-ups, event after event
def pack(args: Command) -> bytes:
    """One command as RESP2 bytes (for :meth:`Wire.call_packed`)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Wire:
    """One blocking RESP2 connection (unix socket or TCP), AUTH and SELECT done."""

    def __init__(self, kwargs: dict[str, Any], unix: bool, timeout: float) -> None:
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: Any = kwargs["path"]
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            address = (kwargs.get("host") or "localhost", int(kwargs.get("port") or 6379))
        self.sock.settimeout(timeout)
        self.sock.connect(address)
        self.reader = hiredis.Reader(replyError=ResponseError, encoding="utf-8",
                                     errors="replace")
        hello: list[tuple[str | int | float | bytes, ...]] = []
        if kwargs.get("password"):
            user = kwargs.get("username")
            hello.append(("AUTH", user, kwargs["password"]) if user
                         else ("AUTH", kwargs["password"]))
        if int(kwargs.get("db") or 0):
            hello.append(("SELECT", int(kwargs["db"])))
        if hello:
            self.call(hello)

    def call(self, commands: list[tuple[str | int | float | bytes, ...]]) -> list[Any]:
        """Send the commands in one write; their replies, in order (an error raises).

        Replies are parsed by ``hiredis`` (redis-py's own parser, a dependency through
        ``redis[hiredis]``); every reply is read, even after an error reply.
        """
        return self.call_packed(b"".join([pack(c) for c in commands]), len(commands))

    def call_packed(self, packed: bytes, want: int) -> list[Any]:
        """:meth:`call` for commands packed beforehand (:func:`pack`), ``want`` of them."""
        self.sock.sendall(packed)
        replies: list[Any] = []
        reader = self.reader
        while len(replies) < want:
            got = reader.gets()
            if got is False:  # RESP2 has no booleans: False means "more bytes needed"
                data = self.sock.recv(1 << 16)
                if not data:
                    raise ConnectionError("Redis closed the simulator's connection")
                reader.feed(data)
            else:
                replies.append(got)
        for r in replies:
            if isinstance(r, ResponseError):
                raise r
        return replies

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


def pairs(flat: list[str]) -> list[tuple[str, float]]:
    """A ``ZRANGE ... WITHSCORES`` reply as redis-py gives it: (member, score) pairs."""
    return [(flat[i], float(flat[i + 1])) for i in range(0, len(flat), 2)]


def _dict(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _same(x: Any) -> Any:
    return x


class WirePipe:
    """A redis-py-like pipeline (the simulator's few commands) on a :class:`Wire`."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.commands: list[tuple[str | int | float | bytes, ...]] = []
        self.converts: list[Convert] = []

    def _add(self, convert: Convert, *args: str | int | float | bytes) -> WirePipe:
        self.commands.append(args)
        self.converts.append(convert)
        return self

    def zcard(self, key: str) -> WirePipe:
        """``ZCARD``: an int."""
        return self._add(_same, "ZCARD", key)

    def zrange(self, key: str, start: int, end: int, withscores: bool = False) -> WirePipe:
        """``ZRANGE``: members, or (member, score) pairs."""
        if withscores:
            return self._add(pairs, "ZRANGE", key, start, end, "WITHSCORES")
        return self._add(_same, "ZRANGE", key, start, end)

    def hget(self, key: str, name: str) -> WirePipe:
        """``HGET``: a string or None."""
        return self._add(_same, "HGET", key, name)

    def hgetall(self, key: str) -> WirePipe:
        """``HGETALL``: a dict."""
        return self._add(_dict, "HGETALL", key)

    def smembers(self, key: str) -> WirePipe:
        """``SMEMBERS``: a set."""
        return self._add(set, "SMEMBERS", key)

    def delete(self, *keys: str) -> WirePipe:
        """``DEL``: how many existed."""
        return self._add(_same, "DEL", *keys)

    async def execute(self) -> list[Any]:
        """Send everything queued in one round trip; the answers, converted."""
        if not self.commands:
            return []
        commands, converts = self.commands, self.converts
        self.commands, self.converts = [], []
        return [f(r) for f, r in zip(converts, self.wire.call(commands), strict=True)]


class WireReader:
    """The reads of a redis-py asyncio client that the invariant checks make, on a Wire.

    ``ivr.store.invariants.violations`` reads Redis one key at a time (some 2,000 round
    trips at a checkpoint of a 100-seat center); here each costs a blocking socket round
    trip instead of redis-py's asyncio path. Same answers as redis-py with
    ``decode_responses=True``: sets, dicts, ``zscore`` as a float or None.

    Inside :meth:`still`, replies read ahead (:meth:`prefetch`, many commands in one round
    trip) answer the same commands later instead of Redis: valid while nothing can write,
    as during the simulator's checkpoint, where every read blocks and no other task runs.
    """

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self._known: dict[Command, Any] | None = None

    def _one(self, *args: str | int | float | bytes) -> Any:
        if self._known is not None:
            got = self._known.get(args, _UNREAD)
            if got is not _UNREAD:
                return got
        return self.wire.call([args])[0]

    @contextlib.contextmanager
    def still(self) -> Iterator[WireReader]:
        """A span in which Redis does not change: replies read ahead are kept until its end."""
        self._known = {}
        try:
            yield self
        finally:
            self._known = None

    def prefetch(self, commands: list[Command]) -> list[Any] | None:
        """Send ``commands`` in one round trip and keep their raw replies (inside :meth:`still`).

        The replies as Redis sent them (a ``SCAN``'s cursor and keys, a hash as a flat
        list); None when an error came back, and then nothing is kept (the command read
        on its own later raises it as before).
        """
        if self._known is None or not commands:
            return None
        try:
            replies = self.wire.call(commands)
        except ResponseError:
            return None
        self._known.update(zip(commands, replies, strict=True))
        return replies

    async def smembers(self, key: str) -> set[str]:
        """``SMEMBERS``."""
        return set(self._one("SMEMBERS", key))

    async def hgetall(self, key: str) -> dict[str, str]:
        """``HGETALL``."""
        return _dict(self._one("HGETALL", key))

    async def zrange(self, key: str, start: int, end: int,
                     withscores: bool = False) -> list[Any]:
        """``ZRANGE``: members, or (member, score) pairs."""
        if withscores:
            return pairs(self._one("ZRANGE", key, start, end, "WITHSCORES"))
        return list(self._one("ZRANGE", key, start, end))

    async def zscore(self, key: str, member: str) -> float | None:
        """``ZSCORE``: the score, or None."""
        got = self._one("ZSCORE", key, member)
        return None if got is None else float(got)

    async def zcard(self, key: str) -> int:
        """``ZCARD``."""
        return int(self._one("ZCARD", key))

    async def scan_iter(self, match: str | None = None,
                        count: int | None = None) -> AsyncIterator[str]:
        """``SCAN`` to the end, key by key (a key may come twice, as with redis-py)."""
        cursor = "0"
        extra: list[str | int] = []
        if match is not None:
            extra += ["MATCH", match]
        if count is not None:
            extra += ["COUNT", count]
        while True:
            cursor, found = self._one("SCAN", cursor, *extra)
            for key in found:
                yield key
            if cursor == "0":
                return


def pipelines(redis: Any, timeout: float) -> tuple[Callable[[], Any], Wire | None]:
    """A factory of pipelines for the simulator's reads, and the wire to close (if any).

    Pipes on a :class:`Wire` of their own when ``redis`` is a plain client over a unix
    socket or TCP; redis-py pipelines otherwise (Redis Cluster, TLS). The wire waits up
    to ``timeout`` seconds, at least 30: a read of the simulator's own that fails ends
    the run, and a machine busy with other work can hold Redis up for a while.
    """
    pool = getattr(redis, "connection_pool", None)
    cls = getattr(pool, "connection_class", None)
    if pool is None or cls is None or "SSL" in cls.__name__:
        return (lambda: redis.pipeline(transaction=False)), None
    kwargs = pool.connection_kwargs
    wire = Wire(kwargs, "path" in kwargs, max(timeout, 30.0))
    return (lambda: WirePipe(wire)), wire
