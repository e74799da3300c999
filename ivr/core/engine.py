"""The flow step function: (flow, position, event) -> actions and the next position.

Pure: no I/O, no clock. The web layer renders the actions as a call document (TwiML or
jambonz verbs, ``ivr.telephony``) and carries the position in the gather's action URL, so
a call keeps the flow revision it started on (a published revision is never changed,
only superseded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ivr.core import prompts
from ivr.core.flows import (
    MAX_STEPS,
    RETRY_PROMPTS,
    Exclusion,
    Flow,
    Goto,
    Hours,
    Menu,
    Option,
    Play,
    Queue,
    Say,
    Transfer,
)
from ivr.core.hours import Schedule, is_open
from ivr.core.numbers import Line


@dataclass(frozen=True)
class Position:
    """Where a call is in its flow: flow id, revision, node, failed tries, chosen language."""

    flow: str
    rev: int
    node: str
    tries: int = 0
    lang: str = ""


@dataclass(frozen=True)
class Context:
    """What a step may need from outside the flow: the time and the schedules."""

    now: float = 0.0
    schedules: Mapping[str, Schedule] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """What the caller did: ``start``, ``digits``, ``speech`` or ``no_input``."""

    kind: str
    value: str = ""


START = Event("start")
NO_INPUT = Event("no_input")


@dataclass(frozen=True)
class SayAction:
    """Speak a text."""

    text: str
    language: str
    voice: str | None = None


@dataclass(frozen=True)
class PlayAction:
    """Play an audio URL."""

    url: str


@dataclass(frozen=True)
class GatherAction:
    """Prompt and collect keys or speech, then resume at ``resume``."""

    prompt: tuple[SayAction | PlayAction, ...]
    resume: Position
    timeout: int
    num_digits: int
    speech: bool
    hints: tuple[str, ...]
    language: str


@dataclass(frozen=True)
class EnqueueAction:
    """Wait for a seat."""

    queue: str
    skill: str
    priority: int
    widen_after: float | None


@dataclass(frozen=True)
class TransferAction:
    """Dial a transfer target; on failure resume at ``fallback`` (or end)."""

    target: str
    fallback: Position | None


@dataclass(frozen=True)
class ExclusionAction:
    """Tell the caller where a matter 12345 does not take belongs (text from the plan)."""

    topic: str
    language: str


@dataclass(frozen=True)
class HangupAction:
    """End the call."""


Action = (SayAction | PlayAction | GatherAction | EnqueueAction | TransferAction | ExclusionAction
          | HangupAction)


@dataclass(frozen=True)
class Step:
    """The result of one step: actions to render, and the position if input is awaited."""

    actions: tuple[Action, ...]
    position: Position | None = None
    outcome: str = ""  # "queue", "transfer", "hangup", "gather", "exclusion"
    language: str = ""


@dataclass
class FlowBook:
    """Every revision of every flow, and which revision is current for new calls."""

    revisions: dict[str, dict[int, Flow]] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)
    _languages: frozenset[str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, flows: Mapping[str, Flow]) -> FlowBook:
        """A book holding one revision of each flow, all current."""
        book = cls()
        for fid, flow in flows.items():
            book.revisions[fid] = {flow.revision: flow}
            book.current[fid] = flow.revision
        return book

    def latest(self, fid: str) -> Flow:
        """The current revision of a flow."""
        return self.revisions[fid][self.current[fid]]

    def get(self, fid: str, rev: int) -> Flow:
        """A given revision of a flow, falling back to the current one if it is gone."""
        return self.revisions[fid].get(rev) or self.latest(fid)

    def languages(self) -> frozenset[str]:
        """Every language a call may speak in these flows (asked once the book is complete)."""
        if self._languages is None:
            langs: set[str] = set()
            for flow in (fl for by_rev in self.revisions.values() for fl in by_rev.values()):
                langs.add(flow.language)
                for node in flow.nodes.values():
                    if isinstance(node, Say):
                        langs.update(node.texts)
                    elif isinstance(node, Menu):
                        langs.update(node.prompts)
                        langs.update(o.language for o in node.options.values() if o.language)
            self._languages = frozenset(langs)
        return self._languages


def fill(text: str, line: Line) -> str:
    """A prompt template with the line's {line_name}, {number}, {notice}, {department}."""
    values = {"line_name": line.name, "number": line.number, "department": line.department}
    return prompts.render(text, {**values, "notice": prompts.render(line.notice, values)})


def start(book: FlowBook, line: Line, ctx: Context | None = None) -> Step:
    """The first step of a new call on its line's flow."""
    flow = book.latest(line.flow)
    return _run(book, line, flow, flow.start, flow.language, ctx or Context())


def resume(book: FlowBook, line: Line, pos: Position, event: Event,
           ctx: Context | None = None) -> Step:
    """The step after the caller answered (or did not answer) a menu at ``pos``."""
    ctx = ctx or Context()
    flow = book.get(pos.flow, pos.rev)
    lang = pos.lang or flow.language
    node = flow.nodes.get(pos.node)
    if node is None:
        return start(book, line, ctx)
    if not isinstance(node, Menu):
        return _run(book, line, flow, pos.node, lang, ctx)
    option = _choose(node, event)
    if option is not None:
        return _run(book, line, flow, option.next, option.language or lang, ctx)
    if event.kind == "no_input" and node.no_input:
        return _run(book, line, flow, node.no_input, lang, ctx)
    if pos.tries >= node.retries:
        return _run(book, line, flow, node.fallback, lang, ctx)
    text = retry_prompt(node, event.kind == "no_input", lang)
    lead = [SayAction(fill(text, line), lang, flow.voice)]
    return _gather(flow, line, pos.node, node, pos.tries + 1, lead, lang)


def retry_prompt(menu: Menu, no_input: bool, lang: str) -> str:
    """What a menu says before asking again: its own text, or the default in ``lang``.

    Chosen by which prompt it is (silence or a wrong key) and the call's language, so a
    flow that kept a default (in any language of ``RETRY_PROMPTS``) speaks the caller's.
    """
    field = "no_input_prompt" if no_input else "invalid_prompt"
    text: str = getattr(menu, field)
    defaults = RETRY_PROMPTS[field]
    if text in defaults.values():
        return defaults.get(lang.split("-", 1)[0].lower(), text)
    return text


def _choose(menu: Menu, event: Event) -> Option | None:
    if event.kind == "digits":
        # the first key pressed: '#' too, which is a key (the renderer sends no
        # finishOnKey then) and, when it is not an option, no match like any other
        return menu.options.get(event.value.strip()[:1])
    if event.kind == "speech":
        heard = event.value.strip().lower()
        for key, option in menu.options.items():
            if heard == key or any(w.strip() and w.strip().lower() in heard for w in option.keywords):
                return option
    return None


def _gather(flow: Flow, line: Line, nid: str, menu: Menu, tries: int,
            lead: Sequence[SayAction | PlayAction], lang: str) -> Step:
    hints = tuple(w for o in menu.options.values() for w in o.keywords if w.strip())
    text = menu.prompts.get(lang, menu.prompt)
    prompt = (*lead, SayAction(fill(text, line), lang, flow.voice))
    pos = Position(flow.id, flow.revision, nid, tries, lang if lang != flow.language else "")
    gather = GatherAction(prompt, pos, menu.timeout, 1, bool(hints), hints, lang)
    return Step((gather,), pos, "gather", lang)


def _run(book: FlowBook, line: Line, flow: Flow, nid: str, lang: str,
         ctx: Context) -> Step:
    """Walk nodes that need no input, collecting actions, until input or an end.

    A loop, not recursion: at most ``MAX_STEPS`` nodes, which validation guarantees.
    """
    said: list[Action] = []  # actions before the last exclusion notice
    lead: list[SayAction | PlayAction] = []  # since then: the prompt of a menu, if one comes
    for _ in range(MAX_STEPS):
        node = flow.nodes[nid]
        if isinstance(node, Say):
            lead.append(SayAction(fill(node.texts.get(lang, node.text), line), lang, flow.voice))
            nid = node.next
        elif isinstance(node, Play):
            lead.append(PlayAction(node.url))
            nid = node.next
        elif isinstance(node, Hours):
            schedule = ctx.schedules.get(node.schedule)
            nid = node.open if schedule is None or is_open(schedule, ctx.now) else node.closed
        elif isinstance(node, Goto):
            flow = book.latest(node.flow)
            nid = flow.start
        elif isinstance(node, Menu):
            step = _gather(flow, line, nid, node, 0, lead, lang)
            return Step((*said, *step.actions), step.position, step.outcome, lang)
        elif isinstance(node, Exclusion):
            said += [*lead, ExclusionAction(node.topic, lang)]
            lead = []
            if not node.next:
                return Step((*said, HangupAction()), None, "exclusion", lang)
            nid = node.next
        elif isinstance(node, Queue):
            action = EnqueueAction(
                node.queue or line.queue,
                node.skill or line.skill,
                line.priority if node.priority is None else node.priority,
                line.widen_after,
            )
            return Step((*said, *lead, action), None, "queue", lang)
        elif isinstance(node, Transfer):
            if node.text:
                lead.append(SayAction(fill(node.text, line), lang, flow.voice))
            fb = Position(flow.id, flow.revision, node.fallback, 0, lang) if node.fallback else None
            return Step((*said, *lead, TransferAction(node.target, fb)), None, "transfer", lang)
        else:  # Hangup
            if node.text:
                lead.append(SayAction(fill(node.text, line), lang, flow.voice))
            return Step((*said, *lead, HangupAction()), None, "hangup", lang)
    raise RuntimeError(f"flow {flow.id} ran {MAX_STEPS} nodes without input")  # validated away
