"""The far ends a ``<Dial>`` can reach, and Twilio's REST API as the service sees it.

An :class:`Endpoint` decides what happens when it rings: pick up after some seconds
and talk (``Pickup``), or not (``Refuse``). Seats are endpoints (``ivr.phone.seats``);
transfer targets such as 110 or 95598 are :class:`FarEnd`; any softphone nobody
registered is answered by :class:`AutoAnswer`. The :class:`Switchboard` finds the
endpoint for a dialed address.

:class:`PhoneCallControl` is the service's ``CallControl`` when the simulated Twilio
runs in the same process: a REST redirect interrupts the live call at once (it leaves
its hold loop and fetches the new URL), as Twilio does with ``calls(sid).update(url=)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from ivr.phone.runtime import REDIRECT, Signal


def new_sid(prefix: str = "CA") -> str:
    """A Twilio-shaped sid: two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


@dataclass(frozen=True)
class Offer:
    """One endpoint rung by a ``<Dial>``."""

    call_sid: str
    child_sid: str
    endpoint: str
    caller: str
    at: float


@dataclass(frozen=True)
class Pickup:
    """Answer after ``after`` seconds; hang up after ``talk`` seconds (None: never)."""

    after: float
    talk: float | None


@dataclass(frozen=True)
class Refuse:
    """Do not answer: ``busy``, ``failed``, or ``no-answer`` (rings until the timeout)."""

    status: str = "no-answer"


class Endpoint(Protocol):
    """A phone a ``<Dial>`` can ring."""

    def ring(self, offer: Offer) -> Pickup | Refuse:
        """Decide what to do with a call that starts ringing now."""
        ...

    def answered(self, offer: Offer) -> None:
        """The call is bridged."""
        ...

    def ended(self, offer: Offer, talk_seconds: float, by: str) -> None:
        """The bridged call ended (``by`` is ``far``, ``caller`` or ``redirect``)."""
        ...

    def missed(self, offer: Offer, status: str) -> None:
        """The ring ended unanswered: ``no-answer``, ``busy``, ``failed`` or ``canceled``."""
        ...


class _Quiet:
    def answered(self, offer: Offer) -> None:
        """Nothing to do."""

    def ended(self, offer: Offer, talk_seconds: float, by: str) -> None:
        """Nothing to do."""

    def missed(self, offer: Offer, status: str) -> None:
        """Nothing to do."""


@dataclass
class AutoAnswer(_Quiet):
    """A softphone that always answers after ``after`` s and talks ``talk`` s (None: on)."""

    after: float = 2.0
    talk: float | None = None

    def ring(self, offer: Offer) -> Pickup | Refuse:
        """Pick up."""
        return Pickup(self.after, self.talk)


@dataclass
class FarEnd(_Quiet):
    """A transfer target: answers (``completed``) or ends with ``status``."""

    status: str = "completed"
    after: float = 3.0
    talk: float | None = 5.0

    def ring(self, offer: Offer) -> Pickup | Refuse:
        """Answer, or refuse with the configured status."""
        if self.status in ("completed", "answered"):
            return Pickup(self.after, self.talk)
        return Refuse(self.status)


@dataclass
class Switchboard:
    """Endpoints by address; unknown softphones and numbers get defaults."""

    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    softphone: Endpoint = field(default_factory=AutoAnswer)
    number: Endpoint = field(default_factory=FarEnd)

    def register(self, address: str, endpoint: Endpoint) -> None:
        """Make ``address`` (``client:p01``, ``sip:...``, ``110``) reach ``endpoint``."""
        self.endpoints[address] = endpoint

    def lookup(self, address: str) -> Endpoint:
        """The endpoint ringing at ``address``."""
        found = self.endpoints.get(address)
        if found is not None:
            return found
        return self.softphone if address.startswith(("client:", "sip:")) else self.number


class LiveCall(Protocol):
    """What the REST API needs of a live call."""

    sid: str
    signal: Signal
    ended: bool


@dataclass
class PhoneCallControl:
    """``CallControl`` for the in-process Twilio: redirects reach live calls at once."""

    calls: dict[str, LiveCall] = field(default_factory=dict)
    log: list[tuple[str, str, bool]] = field(default_factory=list)
    created: list[tuple[str, str, str]] = field(default_factory=list)
    place: Callable[[str, str, str, str | None], Awaitable[str]] | None = None

    def attach(self, call: LiveCall) -> None:
        """A call went live."""
        self.calls[call.sid] = call

    def detach(self, call: LiveCall) -> None:
        """A call ended."""
        self.calls.pop(call.sid, None)

    async def redirect(self, call_sid: str, url: str) -> None:
        """Interrupt the call's current verb and fetch ``url`` (ignored if it ended)."""
        call = self.calls.get(call_sid)
        live = call is not None and not call.ended
        self.log.append((call_sid, url, live))
        if call is not None and live:
            call.signal.fire(REDIRECT, url)

    async def create_call(self, to: str, from_: str, url: str,
                          status_callback: str | None = None) -> str:
        """Place an outbound call through ``place`` (refused when none is set)."""
        self.created.append((to, from_, url))
        if self.place is None:
            raise RuntimeError("the simulated phone network places no outbound calls here")
        return await self.place(to, from_, url, status_callback)

    def redirected(self) -> list[str]:
        """Sids of the calls the service asked to redirect."""
        return [sid for sid, _, _ in self.log]

    async def fetch_status(self, call_sid: str) -> str | None:
        """A simulated call's status: live ones are in progress, others unknown."""
        call = self.calls.get(call_sid)
        return "in-progress" if call is not None and not call.ended else None
