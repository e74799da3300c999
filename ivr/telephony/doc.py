"""A dialect-neutral call document: what the caller hears and where the call goes next.

The web layer builds a :class:`Doc` of these verbs; a dialect renders it (TwiML for
Twilio, a verb array for jambonz). Verbs carry no voice names or dialect attributes:
a :class:`Say` names its language and the renderer looks the voice up in the speech
table. URLs are absolute and built by the web layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Say:
    """Speak ``text`` in ``lang`` (the voice comes from the speech table)."""

    text: str
    lang: str = "zh-CN"


@dataclass(frozen=True)
class Play:
    """Play an audio URL."""

    url: str


@dataclass(frozen=True)
class Pause:
    """Silence for ``seconds``."""

    seconds: int = 1


Prompt = Say | Play | Pause


@dataclass(frozen=True)
class Gather:
    """Prompt and collect keys (and speech); the result goes to ``action``, even when empty.

    ``keys`` are the menu keys offered: when ``#`` is one of them the renderers switch the
    finish key off, else a caller pressing ``#`` would only end the input.
    """

    action: str
    prompts: tuple[Prompt, ...] = ()
    speech: bool = False
    num_digits: int | None = None
    timeout: int = 5
    finish_on_key: str = "#"
    keys: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    lang: str = "zh-CN"

    def finish_key(self) -> str:
        """The finish key to send: none when ``#`` is a menu choice."""
        return "" if "#" in self.keys else self.finish_on_key


@dataclass(frozen=True)
class Redirect:
    """Continue with the document at ``url`` (the hold loop's next turn, a queue join)."""

    url: str


@dataclass(frozen=True)
class DialSeat:
    """Ring a seat's endpoint (``client:name``, ``sip:uri`` or a number) for ``ring_seconds``.

    ``action`` gets the outcome; ``answered`` is called when the seat picks up.
    """

    endpoint: str
    ring_seconds: int
    action: str
    answered: str
    caller_id: str | None = None


@dataclass(frozen=True)
class Target:
    """A transfer destination: what it is called (``display``, e.g. 110) and how it is dialled."""

    display: str
    address: str

    def is_sip(self) -> bool:
        """Whether the address is a SIP URI (a carrier gateway) rather than a number."""
        return self.address.startswith("sip:")


@dataclass(frozen=True)
class DialTarget:
    """Transfer the caller to ``target``; ``action`` gets the outcome (to fall back on failure)."""

    target: Target
    action: str
    timeout: int = 30
    caller_id: str | None = None


@dataclass(frozen=True)
class DialBackup:
    """Send the caller to the backup line (``number``) when the service cannot serve the call."""

    number: str
    action: str
    timeout: int = 30


@dataclass(frozen=True)
class Conference:
    """Join the warm-transfer room; ``status`` (if given) hears participants leave."""

    room: str
    end_on_exit: bool
    status: str | None = None


@dataclass(frozen=True)
class Hangup:
    """End the call."""


Verb = Say | Play | Pause | Gather | Redirect | DialSeat | DialTarget | DialBackup | Conference | Hangup


@dataclass(frozen=True)
class Doc:
    """One answer to a webhook: verbs in order (empty for status callbacks)."""

    verbs: tuple[Verb, ...] = field(default_factory=tuple)

    def then(self, *verbs: Verb) -> Doc:
        """A new document: the verbs of this one, then ``verbs``."""
        return Doc((*self.verbs, *verbs))

    def __len__(self) -> int:
        return len(self.verbs)


def doc(*verbs: Verb) -> Doc:
    """A document of these verbs."""
    return Doc(tuple(verbs))
