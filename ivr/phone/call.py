"""One inbound call as Twilio runs it: fetch TwiML, play its verbs, follow its URLs.

The same session plays a call on jambonz when its platform is ``ivr.phone.jambonz.Jambonz``
(signed JSON webhooks, verb arrays read as the same verbs).

:class:`CallSession` posts the parameters Twilio posts (``CallSid``, ``AccountSid``,
``From``, ``To``, ``CallStatus``, ``Direction``, ``Digits``, ``SpeechResult``,
``DialCallStatus``, ...), each request signed, and runs the answer verb by verb:
``Say``/``Play``/``Pause`` take time, ``Gather`` asks the :class:`Caller` for keys or
words (honouring ``timeout``, ``numDigits``, ``finishOnKey`` and
``actionOnEmptyResult``), ``Redirect`` fetches the next document, ``Dial`` rings
endpoints (``ivr.phone.dial``), ``Hangup`` or the end of the document ends the call.
A REST redirect or the caller hanging up cuts the current verb short (``Signal``).
At the end the number's status callback gets ``CallStatus=completed``.

Everything that happens is reported to listeners as :class:`CallEvent` items: the
terminal prints them, the simulator measures them, tests read the transcript.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ivr.phone import twiml
from ivr.phone.dial import CONTINUE, dial
from ivr.phone.runtime import HANGUP, Handle, Runtime, Signal
from ivr.phone.switchboard import PhoneCallControl, Switchboard, new_sid
from ivr.phone.transport import Platform

ACCOUNT_SID = "AC" + "0" * 31 + "1"
Next = tuple[str, str, dict[str, str]]  # url, method, extra parameters


@dataclass(frozen=True)
class CallEvent:
    """Something that happened on a call, at virtual or wall-clock time ``t``."""

    t: float
    kind: str
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The event as plain JSON data."""
        data = {k: v for k, v in self.data.items() if k != "parsed"}
        return {"t": round(self.t, 3), "kind": self.kind, **data}


Listener = Callable[["CallSession", CallEvent], None]


@dataclass(frozen=True)
class Input:
    """What a caller gave a ``<Gather>``: keys, or spoken words."""

    digits: str = ""
    speech: str = ""


class Caller(Protocol):
    """The person holding the phone."""

    async def gather(self, gather: twiml.Gather, call: CallSession) -> Input | None:
        """Keys or words for this menu, or None after ``gather.timeout`` of silence."""
        ...


@dataclass(frozen=True)
class Timing:
    """How long prompts take to hear: ``say_chars_per_second`` 0 means at once."""

    say_chars_per_second: float = 0.0
    play_seconds: float = 10.0

    def say(self, verb: twiml.Say) -> float:
        """Seconds to speak a ``<Say>`` (Chinese about 4 characters a second)."""
        if self.say_chars_per_second <= 0:
            return 0.0
        rate = self.say_chars_per_second * (3.5 if verb.language.startswith("en") else 1.0)
        return max(1.0, len(verb.text) / rate) * max(1, verb.loop)


SPOKEN = Timing(say_chars_per_second=4.0)


@dataclass
class CallSpec:
    """Who calls which number, and where Twilio sends the call's webhooks."""

    to: str
    from_: str
    voice_url: str
    status_url: str = ""
    account_sid: str = ACCOUNT_SID


@dataclass
class CallSession:
    """One call through the service, from the first webhook to the status callback."""

    spec: CallSpec
    twilio: Platform  # Twilio, or jambonz (ivr.phone.jambonz): who posts and reads answers
    runtime: Runtime
    caller: Caller
    board: Switchboard = field(default_factory=Switchboard)
    control: PhoneCallControl | None = None
    timing: Timing = field(default_factory=Timing)
    listeners: list[Listener] = field(default_factory=list)
    sid: str = field(default_factory=new_sid)
    signal: Signal = field(default_factory=Signal)
    status: str = "ringing"
    ended: bool = False
    hung_up_by: str = ""
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    # the kinds of event the listeners read (None: every kind); no other event is built
    kinds: frozenset[str] | None = None
    _seq: int = 0

    def wants(self, kind: str) -> bool:
        """Whether some listener reads events of ``kind``."""
        return self.kinds is None or kind in self.kinds

    def emit(self, kind: str, **data: Any) -> None:
        """Tell every listener what happened (nothing when no listener reads ``kind``)."""
        if not self.wants(kind):
            return
        event = CallEvent(self.runtime.now(), kind, data)
        for listener in self.listeners:
            listener(self, event)

    def params(self, **extra: str) -> dict[str, str]:
        """The parameters Twilio sends with every request about this call."""
        p = {"AccountSid": self.spec.account_sid, "ApiVersion": "2010-04-01",
             "CallSid": self.sid, "CallStatus": self.status, "Called": self.spec.to,
             "Caller": self.spec.from_, "Direction": "inbound", "From": self.spec.from_,
             "To": self.spec.to}
        p.update(extra)
        return p

    def callback_params(self, **extra: str) -> dict[str, str]:
        """Parameters of a status callback (with sequence number and timestamp)."""
        self._seq += 1
        stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(self.runtime.now()))
        return self.params(CallbackSource="call-progress-events", SequenceNumber=str(self._seq),
                           Timestamp=stamp, **extra)

    async def wait(self, seconds: float) -> bool:
        """Let time pass on the call; False when a redirect or hang-up cut it short."""
        if seconds <= 0:
            return not self.signal.kind
        return await self.runtime.sleep(seconds, self.signal)

    def hang_up(self) -> None:
        """The caller hangs up now (Ctrl-C, a script, or lost patience)."""
        if not self.ended:
            self.signal.fire(HANGUP)

    def hang_up_later(self, seconds: float) -> Handle:
        """The caller will hang up after ``seconds`` unless the handle is cancelled."""
        return self.runtime.call_later(seconds, self.hang_up)

    async def post(self, url: str, params: dict[str, str], method: str = "POST",
                   what: str = "webhook") -> str | None:
        """Send one signed request; the body, or None (and an error) unless it is a 200."""
        reply = await self.twilio.post(url, params, method)
        self.emit("request", url=url, status=reply.status, what=what)
        if reply.status != 200:
            self.error(f"{what} {url} answered {reply.status}: {reply.text[:200]}")
            return None
        return reply.text

    async def fetch(self, url: str, method: str, extra: dict[str, str]) -> list[twiml.Verb] | None:
        """Request TwiML and parse it; None (an application error) if it is not TwiML."""
        text = await self.post(url, self.params(**extra), method)
        if text is None:
            return None
        try:
            verbs = self.twilio.parse(text, url)
        except twiml.TwimlError as exc:
            what = "TwiML" if self.twilio.dialect == "twilio" else f"{self.twilio.dialect} verbs"
            self.error(f"{url} did not answer {what}: {exc}")
            return None
        self.status = "in-progress"
        if self.wants("document"):
            self.emit("document", url=url, verbs=[type(v).__name__ for v in verbs], parsed=verbs)
        return verbs

    def error(self, message: str) -> None:
        """Record what Twilio would report as an application error."""
        self.errors.append(message)
        self.emit("error", message=message)

    async def run(self) -> None:
        """Run the call to its end, then send the status callback."""
        self.started = self.runtime.now()
        if self.control is not None:
            self.control.attach(self)
        self.emit("start", sid=self.sid, to=self.spec.to, from_=self.spec.from_)
        nxt: Next | None = (self.spec.voice_url, "POST", {})
        try:
            while nxt is not None and not self.signal.hangup:
                verbs = await self.fetch(*nxt)
                if verbs is None:
                    self.hung_up_by = "error"
                    break
                nxt = await self.execute(verbs)
        finally:
            await self.finish()

    def _interrupted(self) -> Next | None:
        url = self.signal.take_redirect()
        if url is not None:
            self.emit("redirected", url=url)
            return (url, "POST", {})
        return None

    async def execute(self, verbs: list[twiml.Verb]) -> Next | None:
        """Play one document; the next request to make, or None when the call ends."""
        for verb in verbs:
            if self.signal.kind:
                break
            if isinstance(verb, twiml.Say | twiml.Play | twiml.Pause):
                await self.play(verb)
            elif isinstance(verb, twiml.Gather):
                nxt = await self.gather(verb)
                if nxt is not None:
                    return nxt
            elif isinstance(verb, twiml.Redirect):
                return (verb.url, verb.method, {})
            elif isinstance(verb, twiml.Dial):
                out = await dial(self, verb)
                if out is not CONTINUE:
                    return out if isinstance(out, tuple) else self._interrupted()
            elif isinstance(verb, twiml.Hangup | twiml.Reject):
                self.hung_up_by = self.hung_up_by or "service"
                return None
            else:
                self.error(f"unsupported verb <{verb.tag}>")
                return None
        if self.signal.hangup:
            return None
        nxt = self._interrupted()
        if nxt is None:
            self.hung_up_by = self.hung_up_by or "service"
        return nxt

    async def play(self, verb: twiml.Say | twiml.Play | twiml.Pause, in_gather: bool = False) -> bool:
        """Say, play or pause, taking the time it takes; False if cut short."""
        if isinstance(verb, twiml.Say):
            self.emit("say", text=verb.text, language=verb.language, menu=in_gather)
            return await self.wait(self.timing.say(verb))
        if isinstance(verb, twiml.Play):
            self.emit("play", url=verb.url, menu=in_gather)
            return await self.wait(self.timing.play_seconds * max(1, verb.loop))
        self.emit("pause", seconds=verb.length, menu=in_gather)
        return await self.wait(verb.length)

    async def gather(self, g: twiml.Gather) -> Next | None:
        """Prompt, collect input, and say where to post it (None: fall through)."""
        for prompt in g.prompts:
            if not await self.play(prompt, in_gather=True):
                return None
        if self.wants("menu"):
            self.emit("menu", timeout=g.timeout, num_digits=g.num_digits, input=sorted(g.input),
                      finish_on_key=g.finish_on_key, hints=list(g.hints))
        got = await self.caller.gather(g, self)
        if self.signal.kind:
            return None
        if got is not None and (got.digits or got.speech):
            self.emit("input", digits=got.digits, speech=got.speech)
            extra = {"Digits": got.digits} if got.digits else {
                "SpeechResult": got.speech, "Confidence": "0.9"}
            return (g.action, g.method, extra)
        self.emit("input", digits="", speech="")
        return (g.action, g.method, {}) if g.action_on_empty_result else None

    async def finish(self) -> None:
        """The call is over: the number's status callback, then no more redirects."""
        if self.ended:
            return
        self.ended = True
        if self.signal.hangup and not self.hung_up_by:
            self.hung_up_by = "caller"
        self.status = "completed"
        duration = max(0, round(self.runtime.now() - self.started))
        self.emit("end", by=self.hung_up_by or "service", duration=duration,
                  errors=list(self.errors))
        if self.spec.status_url:
            await self.post(self.spec.status_url,
                            self.callback_params(CallDuration=str(duration)), what="status")
        if self.control is not None:
            self.control.detach(self)
