"""The phone in a terminal: prompts printed with their language, keys read as DTMF.

:class:`Printer` is a call listener that writes what a caller would hear and see.
:class:`KeyboardCaller` reads the keyboard in cbreak mode, so one key press is one
DTMF digit, exactly as on a phone: a ``<Gather>`` ends at ``numDigits`` keys, at its
``finishOnKey`` or after ``timeout`` seconds without a key. A first key that is not
a digit starts a spoken answer (typed words, ended by Enter) where the menu accepts
speech.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from ivr.phone import twiml
from ivr.phone.call import CallEvent, CallSession, Input
from ivr.phone.callers import DTMF


@dataclass
class Printer:
    """Writes a call as the caller experiences it."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    names: dict[str, str] = field(default_factory=dict)
    verbose: bool = False
    queued: bool = False

    def _w(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _who(self, endpoint: str) -> str:
        seat = endpoint.removeprefix("client:")
        name = self.names.get(endpoint)
        return f"{seat} ({name})" if name else seat

    def __call__(self, call: CallSession, e: CallEvent) -> None:
        """Print one event."""
        d: dict[str, Any] = e.data
        k = e.kind
        if k == "start":
            self._w(f"Calling {d['to']} from {d['from_']} (call {d['sid']})")
        elif k == "say":
            mark = "menu " if d.get("menu") else ("hold " if self.queued else "")
            self._w(f"  {mark}[{d['language']}] {d['text']}")
        elif k == "play":
            self._w(f"  (music: {d['url']})")
        elif k == "pause" and d["seconds"] >= 2:
            self._w(f"  ... holding, {d['seconds']:g} s")
        elif k == "menu":
            self._menu(d)
        elif k == "input":
            self._w("  you pressed " + d["digits"] if d["digits"] else
                    f"  you said: {d['speech']}" if d["speech"] else "  (no input)")
        elif k == "document":
            self.queued = d["url"].split("?")[0].endswith("/wait")  # a turn of the hold loop
        elif k == "dial":
            self._w("  ringing " + ", ".join(self._who(t) for t in d["to"]) + " ...")
        elif k == "answered":
            self.queued = False
            self._w(f"  {self._who(d['endpoint'])} answered (rang {d['ring']:.0f} s)"
                    " - talking; Ctrl-C hangs up")
        elif k == "talk-end":
            who = {"far": "they hung up", "caller": "you hung up"}.get(d["by"], d["by"])
            self._w(f"  call with {self._who(d['endpoint'])} over after {d['seconds']:.0f} s"
                    f" ({who})")
        elif k == "dial-end" and d["status"] not in ("completed", "answered"):
            self._w(f"  nobody answered ({d['status']})")
        elif k == "redirected":
            self._w("  (the service pulled the call out of the hold loop: a seat is free)")
        elif k == "error":
            self._w(f"  APPLICATION ERROR: {d['message']}")
        elif k == "request" and self.verbose:
            self._w(f"    > {d['what']} {d['url']} -> {d['status']}")
        elif k == "end":
            by = {"caller": "you hung up", "service": "the service hung up",
                  "error": "an application error ended it"}.get(d["by"], d["by"])
            self._w(f"Call ended after {d['duration']} s: {by}.")

    def _menu(self, d: dict[str, Any]) -> None:
        how = []
        if "dtmf" in d["input"]:
            n = d["num_digits"]
            how.append(f"press {n} key{'s' if n and n > 1 else ''}" if n else "press keys")
            if d["finish_on_key"]:
                how[-1] += f" ({d['finish_on_key']} ends)"
        if "speech" in d["input"]:
            how.append("or type words and Enter")
        self._w(f"  menu: {' '.join(how)}; {d['timeout']:g} s")


class KeyReader:
    """Characters from a terminal in cbreak mode, as an asyncio queue."""

    def __init__(self, stream: TextIO) -> None:
        self.fd = stream.fileno()
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def _ready(self) -> None:
        data = os.read(self.fd, 1024)
        for ch in self._decoder.decode(data):
            self.queue.put_nowait(ch)

    @contextlib.contextmanager
    def active(self) -> Iterator[KeyReader]:
        """Put the terminal in cbreak mode and read keys until the block ends."""
        import termios
        import tty

        saved = termios.tcgetattr(self.fd)
        loop = asyncio.get_running_loop()
        try:
            tty.setcbreak(self.fd)
            loop.add_reader(self.fd, self._ready)
            yield self
        finally:
            loop.remove_reader(self.fd)
            termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)


class Keys(Protocol):
    """Where typed characters arrive."""

    queue: asyncio.Queue[str]


@dataclass
class KeyboardCaller:
    """A person at the keyboard answering menus (see the module docstring)."""

    keys: Keys
    out: TextIO = field(default_factory=lambda: sys.stdout)

    async def _key(self, seconds: float, call: CallSession) -> str | None:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while not call.signal.kind:
            left = end - loop.time()
            if left <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(self.keys.queue.get(), min(left, 0.1))
        return None

    async def gather(self, gather: twiml.Gather, call: CallSession) -> Input | None:
        """Keys until numDigits, finishOnKey or the timeout; or typed words."""
        while True:
            ch = await self._key(gather.timeout, call)
            if ch is None:
                return None
            if ch in DTMF and "dtmf" in gather.input:
                return await self._digits(ch, gather, call)
            if "speech" in gather.input and ch.strip():
                return await self._words(ch, call)

    async def _digits(self, ch: str | None, g: twiml.Gather, call: CallSession) -> Input | None:
        digits = ""
        while ch is not None and ch != g.finish_on_key:
            if ch in DTMF:
                digits += ch
                self.out.write(ch)
                self.out.flush()
            if g.num_digits and len(digits) >= g.num_digits:
                break
            ch = await self._key(g.timeout, call)
        self.out.write("\n")
        return Input(digits=digits) if digits else None

    async def _words(self, ch: str, call: CallSession) -> Input | None:
        text = ""
        while ch not in ("\n", "\r"):
            if ch in ("\x7f", "\b"):
                text = text[:-1]
                self.out.write("\b \b")
            else:
                text += ch
                self.out.write(ch)
            self.out.flush()
            got = await self._key(3600.0, call)
            if got is None:
                break
            ch = got
        self.out.write("\n")
        return Input(speech=text.strip()) if text.strip() else None
