"""Twilio's REST API behind a small interface, with an in-memory twin for tests.

``CallControl`` is what the service asks of Twilio: pull a waiting call out of its
hold loop (``redirect``) and place a call (``create_call``). ``TwilioCallControl``
uses the ``twilio`` client in a worker thread; ``RecordingCallControl`` records
every request so tests can assert on them; ``NullCallControl`` does nothing, for a
service without REST credentials (waiting calls then connect at the next loop).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("ivr.telephony")


class CallControl(Protocol):
    """What the service asks of Twilio's REST API."""

    async def redirect(self, call_sid: str, url: str) -> None:
        """Send a live call to a new TwiML URL at once."""
        ...

    async def create_call(self, to: str, from_: str, url: str,
                          status_callback: str | None = None) -> str:
        """Place an outbound call that runs the TwiML at ``url``; returns its sid."""
        ...

    async def fetch_status(self, call_sid: str) -> str | None:
        """The call's status as the platform knows it (``completed``, ...); None if unknown."""
        ...


class NullCallControl:
    """No REST credentials: nothing is sent; calls connect at their next hold loop."""

    async def redirect(self, call_sid: str, url: str) -> None:
        """Do nothing."""

    async def create_call(self, to: str, from_: str, url: str,
                          status_callback: str | None = None) -> str:
        """Refuse: no credentials to place calls with."""
        raise RuntimeError("Twilio REST credentials are not configured")

    async def fetch_status(self, call_sid: str) -> str | None:
        """Unknown: no credentials to ask with."""
        return None


def can_act(control: CallControl) -> bool:
    """Whether ``control`` can act on a live call (transfers need it; hold loops do not)."""
    return not isinstance(control, NullCallControl)


@dataclass
class RecordingCallControl:
    """A test double that records every request."""

    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)  # what fetch_status answers

    async def fetch_status(self, call_sid: str) -> str | None:
        """Record the question; answer from ``statuses`` (None for a call not listed)."""
        self.requests.append(("fetch", {"sid": call_sid}))
        return self.statuses.get(call_sid)

    async def redirect(self, call_sid: str, url: str) -> None:
        """Record a redirect."""
        self.requests.append(("redirect", {"sid": call_sid, "url": url}))

    async def create_call(self, to: str, from_: str, url: str,
                          status_callback: str | None = None) -> str:
        """Record a placed call and make up its sid."""
        sid = f"CAfake{len(self.requests):026d}"
        self.requests.append(("create_call", {"to": to, "from": from_, "url": url, "sid": sid,
                                              "status_callback": status_callback or ""}))
        return sid

    def created(self) -> list[dict[str, str]]:
        """The calls placed so far."""
        return [r for op, r in self.requests if op == "create_call"]

    def redirected(self) -> list[str]:
        """Sids of the calls redirected so far."""
        return [r["sid"] for op, r in self.requests if op == "redirect"]


class TwilioCallControl:
    """The real thing: ``twilio.rest.Client``, called off the event loop."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        from twilio.rest import Client

        self._client: Any = Client(account_sid, auth_token)
        self._tasks: set[asyncio.Task[None]] = set()

    async def redirect(self, call_sid: str, url: str) -> None:
        """Redirect in the background, so the webhook that caused it answers at once."""
        task = asyncio.create_task(self._redirect(call_sid, url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _redirect(self, call_sid: str, url: str) -> None:
        try:
            await asyncio.to_thread(
                lambda: self._client.calls(call_sid).update(url=url, method="POST")
            )
        except Exception:  # the hold loop picks the call up anyway
            log.exception("redirect of %s failed; the next hold loop will connect it", call_sid)

    async def create_call(self, to: str, from_: str, url: str,
                          status_callback: str | None = None) -> str:
        """Place a call through Twilio."""
        extra: dict[str, Any] = {}
        if status_callback:
            extra = {"status_callback": status_callback, "status_callback_method": "POST",
                     "status_callback_event": ["completed"]}
        call = await asyncio.to_thread(
            lambda: self._client.calls.create(to=to, from_=from_, url=url, method="POST", **extra)
        )
        return str(call.sid)

    async def fetch_status(self, call_sid: str) -> str | None:
        """Ask Twilio for the call's status (None when Twilio cannot be asked)."""
        try:
            call = await asyncio.to_thread(lambda: self._client.calls(call_sid).fetch())
        except Exception:  # Twilio unreachable or the call unknown: decide nothing
            log.warning("could not fetch the status of call %s", call_sid)
            return None
        return str(call.status)
