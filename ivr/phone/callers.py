"""Callers that need no keyboard: a script of key presses and words, or silence."""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.phone import twiml
from ivr.phone.call import CallSession, Input

DTMF = frozenset("0123456789*#")


def apply_gather_rules(g: twiml.Gather, given: Input) -> Input | None:
    """What Twilio would post for ``given``: finishOnKey and numDigits applied, or None."""
    if given.digits and "dtmf" in g.input:
        keys = "".join(ch for ch in given.digits if ch in DTMF)
        if g.finish_on_key and g.finish_on_key in keys:
            keys = keys.split(g.finish_on_key, 1)[0]
        if g.num_digits:
            keys = keys[: g.num_digits]
        return Input(digits=keys) if keys else None
    if given.speech and "speech" in g.input:
        return Input(speech=given.speech)
    return None


@dataclass
class ScriptedCaller:
    """Answers each menu with the next scripted input; silence once the script runs out."""

    inputs: list[Input] = field(default_factory=list)
    think_seconds: float = 0.5

    async def gather(self, gather: twiml.Gather, call: CallSession) -> Input | None:
        """The next input (after a moment's thought), or ``timeout`` seconds of silence."""
        if not self.inputs:
            await call.wait(gather.timeout)
            return None
        given = self.inputs.pop(0)
        if not await call.wait(min(self.think_seconds, gather.timeout)):
            return None
        got = apply_gather_rules(gather, given)
        if got is None:  # keys or words this menu does not take: it hears nothing
            await call.wait(max(0.0, gather.timeout - self.think_seconds))
        return got


@dataclass
class SilentCaller:
    """Never presses a key: every menu times out (most hotline callers)."""

    async def gather(self, gather: twiml.Gather, call: CallSession) -> Input | None:
        """Stay silent for the menu's timeout."""
        await call.wait(gather.timeout)
        return None
