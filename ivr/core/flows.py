"""The flow model: IVR flows as typed nodes, and their validation.

Pure: no I/O. A flow is a named graph of nodes; the engine (``engine.py``) walks it.
Node kinds:

=========  ==========================================================================
say        speak ``text`` (may use {line_name} {number} {notice}), then ``next``
play       play audio ``url``, then ``next``
menu       ask with ``prompt``; DTMF ``options`` and speech ``keywords`` lead to nodes;
           no input or a wrong key reprompts up to ``retries`` times, then ``fallback``;
           ``no_input`` (optional) sends silence straight to a node (no-menu callers)
queue      wait for a seat in ``queue`` with ``skill`` and ``priority`` (both default to
           the dialed line's route)
transfer   hand the call to a number target (110, 119, a utility, ...); ``fallback`` if
           the far end does not answer
goto       continue at the start of another flow
hangup     say an optional ``text`` and end the call
=========  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ivr.core.errors import Problem

NodeId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
DTMF_KEYS = frozenset("0123456789*#")


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Say(_Node):
    """Speak a text, then go on."""

    kind: Literal["say"]
    text: str = Field(min_length=1)
    texts: dict[str, str] = Field(default_factory=dict, description="language -> text")
    next: NodeId


class Play(_Node):
    """Play an audio file, then go on."""

    kind: Literal["play"]
    url: str = Field(pattern=r"^https?://")
    next: NodeId


class Option(_Node):
    """Where one menu key or spoken keyword leads."""

    next: NodeId
    keywords: tuple[str, ...] = ()
    language: str | None = Field(None, description="choosing this option switches the call's language")


class Menu(_Node):
    """Ask the caller and branch on keys or speech."""

    kind: Literal["menu"]
    prompt: str = Field(min_length=1)
    prompts: dict[str, str] = Field(default_factory=dict, description="language -> prompt")
    options: dict[str, Option]
    timeout: int = Field(5, ge=1, le=60)
    retries: int = Field(2, ge=0, le=5)
    no_input: NodeId | None = None
    invalid_prompt: str = "对不起，您的输入有误。"
    no_input_prompt: str = "对不起，没有收到您的输入。"
    fallback: NodeId


class Queue(_Node):
    """Wait for a seat."""

    kind: Literal["queue"]
    queue: str | None = None
    skill: str | None = None
    priority: int | None = Field(None, ge=0, le=9)


class Transfer(_Node):
    """Hand the call to a transfer target."""

    kind: Literal["transfer"]
    target: str
    text: str = ""
    fallback: NodeId | None = None


class Exclusion(_Node):
    """Tell the caller which channel handles a matter 12345 does not take, then end or go on."""

    kind: Literal["exclusion"]
    topic: str
    next: NodeId | None = None


class Hours(_Node):
    """Branch on a schedule's opening hours."""

    kind: Literal["hours"]
    schedule: str
    open: NodeId
    closed: NodeId


class Goto(_Node):
    """Continue in another flow."""

    kind: Literal["goto"]
    flow: str


class Hangup(_Node):
    """End the call."""

    kind: Literal["hangup"]
    text: str = ""


Node = Annotated[Say | Play | Menu | Queue | Transfer | Exclusion | Hours | Goto | Hangup,
                 Field(discriminator="kind")]


class Flow(BaseModel):
    """One IVR flow at one revision."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{
        "id": "dual-number", "language": "zh-CN", "start": "greeting",
        "nodes": {"greeting": {"kind": "say", "text": "您好。", "next": "to_pool"},
                  "to_pool": {"kind": "queue"}}}]})

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    description: str = ""
    language: str = "zh-CN"
    voice: str | None = None
    revision: int = Field(1, ge=1)
    start: NodeId
    nodes: dict[NodeId, Node]


def _successors(node: _Node) -> list[tuple[str, str]]:
    """(field, node id) pairs a node can lead to inside its flow."""
    out: list[tuple[str, str]] = []
    if isinstance(node, Say | Play):
        out.append(("next", node.next))
    elif isinstance(node, Menu):
        out += [(f"options.{k}.next", o.next) for k, o in node.options.items()]
        out.append(("fallback", node.fallback))
        if node.no_input:
            out.append(("no_input", node.no_input))
    elif isinstance(node, Transfer) and node.fallback:
        out.append(("fallback", node.fallback))
    elif isinstance(node, Exclusion) and node.next:
        out.append(("next", node.next))
    elif isinstance(node, Hours):
        out += [("open", node.open), ("closed", node.closed)]
    return out


def validate_flows(flows: dict[str, Flow], queues: Collection[str], targets: Collection[str],
                   topics: Collection[str] = (), schedules: Collection[str] = ()) -> list[Problem]:
    """Every problem in a set of flows: missing nodes, queues, targets, flows, input-less loops."""
    problems: list[Problem] = []
    for fid, flow in flows.items():
        where = f"flow {fid}"
        if flow.id != fid:
            problems.append(Problem(where, "id", f"id {flow.id!r} differs from its name {fid!r}"))
        if flow.start not in flow.nodes:
            problems.append(Problem(where, "start", f"start node {flow.start!r} does not exist"))
        for nid, node in flow.nodes.items():
            nwhere = f"flow {fid} node {nid}"
            for field, target in _successors(node):
                if target not in flow.nodes:
                    problems.append(Problem(nwhere, field, f"leads to missing node {target!r}"))
            if isinstance(node, Menu):
                problems += _menu_problems(nwhere, node)
            elif isinstance(node, Queue) and node.queue is not None and node.queue not in queues:
                problems.append(Problem(nwhere, "queue", f"queue {node.queue!r} does not exist"))
            elif isinstance(node, Transfer) and node.target not in targets:
                problems.append(Problem(nwhere, "target", f"target {node.target!r} is not in the plan"))
            elif isinstance(node, Exclusion) and node.topic not in topics:
                problems.append(Problem(nwhere, "topic", f"exclusion {node.topic!r} is not in the plan"))
            elif isinstance(node, Hours) and node.schedule not in schedules:
                problems.append(Problem(nwhere, "schedule", f"schedule {node.schedule!r} does not exist"))
            elif isinstance(node, Goto) and node.flow not in flows:
                problems.append(Problem(nwhere, "flow", f"flow {node.flow!r} does not exist"))
    if not problems:
        problems += _inputless_loops(flows)
    return problems


def _menu_problems(where: str, menu: Menu) -> list[Problem]:
    problems = []
    seen: dict[str, str] = {}
    for key, option in menu.options.items():
        if key not in DTMF_KEYS:
            problems.append(Problem(where, f"options.{key}", "a key must be one of 0-9, * or #"))
        for word in option.keywords:
            if word in seen:
                problems.append(
                    Problem(where, f"options.{key}.keywords", f"{word!r} is also a keyword of {seen[word]}")
                )
            seen[word] = key
    return problems


def _inputless_loops(flows: dict[str, Flow]) -> list[Problem]:
    """Cycles through say/play/exclusion/hours/goto nodes only: the caller is never asked."""
    Key = tuple[str, str]
    edges: dict[Key, list[Key]] = {}
    for fid, flow in flows.items():
        for nid, node in flow.nodes.items():
            if isinstance(node, Say | Play):
                edges[(fid, nid)] = [(fid, node.next)]
            elif isinstance(node, Exclusion) and node.next:
                edges[(fid, nid)] = [(fid, node.next)]
            elif isinstance(node, Hours):
                edges[(fid, nid)] = [(fid, node.open), (fid, node.closed)]
            elif isinstance(node, Goto):
                edges[(fid, nid)] = [(node.flow, flows[node.flow].start)]
    problems: list[Problem] = []
    done: set[Key] = set()

    def visit(cur: Key, path: list[Key]) -> None:
        if cur in path:
            loop = " -> ".join(f"{f}/{n}" for f, n in path[path.index(cur):])
            problems.append(Problem(f"flow {cur[0]} node {cur[1]}", "next",
                                    f"loops without caller input: {loop}"))
            return
        if cur in done or cur not in edges:
            return
        for nxt in edges[cur]:
            visit(nxt, [*path, cur])
        done.add(cur)

    for start in list(edges):
        visit(start, [])
    return problems
