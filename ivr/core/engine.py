"""The flow step function: (flow, position, event) -> actions and the next position.

Pure: no I/O, no clock. The web layer renders the actions as TwiML and carries the
position in the ``<Gather>`` action URL, so a call keeps the flow revision it
started on (a published revision is never changed, only superseded).
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ivr.core import flows as f
from ivr.core.numbers import Line

MAX_STEPS = 64


@dataclass(frozen=True)
class Position:
    """Where a call is in its flow: flow id, revision, node, failed tries so far."""

    flow: str
    rev: int
    node: str
    tries: int = 0


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
class HangupAction:
    """End the call."""


Action = SayAction | PlayAction | GatherAction | EnqueueAction | TransferAction | HangupAction


@dataclass(frozen=True)
class Step:
    """The result of one step: actions to render, and the position if input is awaited."""

    actions: tuple[Action, ...]
    position: Position | None = None
    outcome: str = ""  # "queue", "transfer", "hangup", "gather"


@dataclass
class FlowBook:
    """Every revision of every flow, and which revision is current for new calls."""

    revisions: dict[str, dict[int, f.Flow]] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, flows: Mapping[str, f.Flow]) -> FlowBook:
        """A book holding one revision of each flow, all current."""
        book = cls()
        for fid, flow in flows.items():
            book.revisions[fid] = {flow.revision: flow}
            book.current[fid] = flow.revision
        return book

    def latest(self, fid: str) -> f.Flow:
        """The current revision of a flow."""
        return self.revisions[fid][self.current[fid]]

    def get(self, fid: str, rev: int) -> f.Flow:
        """A given revision of a flow, falling back to the current one if it is gone."""
        return self.revisions[fid].get(rev) or self.latest(fid)


class _Fill(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(text: str, line: Line) -> str:
    """Replace {line_name}, {number}, {notice}, {department} in a prompt."""
    values = _Fill(line_name=line.name, number=line.number, notice=line.notice,
                   department=line.department)
    return string.Formatter().vformat(text, (), values)


def start(book: FlowBook, line: Line) -> Step:
    """The first step of a new call on its line's flow."""
    flow = book.latest(line.flow)
    return _run(book, line, flow, flow.start, [])


def resume(book: FlowBook, line: Line, pos: Position, event: Event) -> Step:
    """The step after the caller answered (or did not answer) a menu at ``pos``."""
    flow = book.get(pos.flow, pos.rev)
    node = flow.nodes.get(pos.node)
    if node is None:
        return start(book, line)
    if not isinstance(node, f.Menu):
        return _run(book, line, flow, pos.node, [])
    chosen = _choose(node, event)
    if chosen is not None:
        return _run(book, line, flow, chosen, [])
    if event.kind == "no_input" and node.no_input:
        return _run(book, line, flow, node.no_input, [])
    if pos.tries >= node.retries:
        return _run(book, line, flow, node.fallback, [])
    text = node.no_input_prompt if event.kind == "no_input" else node.invalid_prompt
    lead = [SayAction(fill(text, line), flow.language, flow.voice)]
    return _gather(flow, line, pos.node, node, pos.tries + 1, lead)


def _choose(menu: f.Menu, event: Event) -> str | None:
    if event.kind == "digits":
        key = event.value.strip().rstrip("#")[:1]
        option = menu.options.get(key)
        return option.next if option else None
    if event.kind == "speech":
        heard = event.value.strip().lower()
        for key, option in menu.options.items():
            if heard == key or any(w.lower() in heard for w in option.keywords):
                return option.next
    return None


def _gather(flow: f.Flow, line: Line, nid: str, menu: f.Menu, tries: int,
            lead: Sequence[SayAction | PlayAction]) -> Step:
    hints = tuple(w for o in menu.options.values() for w in o.keywords)
    prompt = (*lead, SayAction(fill(menu.prompt, line), flow.language, flow.voice))
    pos = Position(flow.id, flow.revision, nid, tries)
    gather = GatherAction(prompt, pos, menu.timeout, 1, bool(hints), hints, flow.language)
    return Step((gather,), pos, "gather")


def _run(book: FlowBook, line: Line, flow: f.Flow, nid: str,
         out: list[Action]) -> Step:
    """Walk nodes that need no input, collecting actions, until input or an end."""
    lead: list[SayAction | PlayAction] = []
    for _ in range(MAX_STEPS):
        node = flow.nodes[nid]
        if isinstance(node, f.Say):
            lead.append(SayAction(fill(node.text, line), flow.language, flow.voice))
            nid = node.next
        elif isinstance(node, f.Play):
            lead.append(PlayAction(node.url))
            nid = node.next
        elif isinstance(node, f.Goto):
            flow = book.latest(node.flow)
            nid = flow.start
        elif isinstance(node, f.Menu):
            return _gather(flow, line, nid, node, 0, lead)
        elif isinstance(node, f.Queue):
            action = EnqueueAction(
                node.queue or line.queue,
                node.skill or line.skill,
                line.priority if node.priority is None else node.priority,
                line.widen_after,
            )
            return Step((*lead, action), None, "queue")
        elif isinstance(node, f.Transfer):
            if node.text:
                lead.append(SayAction(fill(node.text, line), flow.language, flow.voice))
            fb = Position(flow.id, flow.revision, node.fallback) if node.fallback else None
            return Step((*lead, TransferAction(node.target, fb)), None, "transfer")
        else:  # Hangup
            if node.text:
                lead.append(SayAction(fill(node.text, line), flow.language, flow.voice))
            return Step((*lead, HangupAction()), None, "hangup")
    raise RuntimeError(f"flow {flow.id} ran {MAX_STEPS} nodes without input")  # validated away
