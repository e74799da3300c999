"""Demo seats: a few simulated operators so that a fresh clone can complete a call.

In ``ivr call --demo`` the seats are :class:`~ivr.phone.seats.SeatAgent` objects in
the same process. For ``ivr serve --demo`` the seats only log in and stay ready
through the seat API of the running server (:func:`demo_seats`); the calls are then
answered by the simulated softphones of whoever plays Twilio (``ivr call --url``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable

import httpx

from ivr.core.config import CenterConfig
from ivr.phone.transport import HttpxTransport, SeatApi
from ivr.settings import Settings

log = logging.getLogger("ivr.demo")


def demo_seat_ids(config: CenterConfig, per_queue: int = 3) -> list[str]:
    """The first ``per_queue`` seats of every queue in the roster."""
    out: list[str] = []
    for queue in config.roster.queues:
        members = [s.id for s in config.roster.seats if queue.id in s.queues]
        out += [s for s in members[:per_queue] if s not in out]
    return out


async def _keep_ready(api: SeatApi, seat: str) -> None:
    reply = await api.state(seat)
    if reply.status != 200:
        return
    state = json.loads(reply.text).get("state")
    if state == "offline":
        await api.act(seat, "login")
    elif state == "break":
        await api.act(seat, "ready")


async def demo_seats(base_url: str, settings: Settings, seat_ids: list[str],
                     stop: asyncio.Event, poll_seconds: float = 2.0) -> None:
    """Log ``seat_ids`` in at ``base_url`` and keep them ready until ``stop`` is set."""
    async with httpx.AsyncClient(timeout=10) as client:
        api = SeatApi(HttpxTransport(client), base_url, settings.seat_secret)
        while not stop.is_set():
            try:
                await client.get(base_url.rstrip("/") + "/healthz")
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.5)
        log.warning("demo seats log in at %s: %s", base_url, ", ".join(seat_ids))
        while not stop.is_set():
            for seat in seat_ids:
                try:
                    await _keep_ready(api, seat)
                except httpx.HTTPError as exc:
                    log.warning("demo seat %s: %s", seat, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds)
        for seat in seat_ids:
            with contextlib.suppress(httpx.HTTPError):
                await api.act(seat, "logout")


def start_demo_thread(base_url: str, settings: Settings,
                      seat_ids: list[str]) -> Callable[[], None]:
    """Run :func:`demo_seats` in a background thread; returns the function that stops it."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(demo_seats(base_url, settings, seat_ids, stop))
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="ivr-demo-seats", daemon=True)
    thread.start()

    def halt() -> None:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=5)

    return halt


def serve_demo(settings: Settings, host: str, port: int, per_queue: int = 3) -> Callable[[], None]:
    """For ``ivr serve --demo``: demo seats of the config folders at this host and port."""
    from ivr.config import load

    # a comparison, not a bind: a service on every interface is reached on loopback
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    return start_demo_thread(f"http://{local}:{port}", settings,
                             demo_seat_ids(load(settings.config_dir), per_queue))
