"""Flow validation: every problem in a set of flows, before the engine runs them.

Pure: no I/O. Validation refuses what the engine cannot run: a reference to a missing
node, queue, target, exclusion, schedule or flow; a bad prompt template; a loop that
never asks the caller anything; and a run of more than ``MAX_STEPS`` nodes without input
(the engine's own limit). The graph walks are iterative, so no admin input can exhaust
the Python stack.
"""

from __future__ import annotations

from collections.abc import Collection

from ivr.core import prompts
from ivr.core.errors import Problem
from ivr.core.flows import (
    DTMF_KEYS,
    MAX_STEPS,
    Exclusion,
    Flow,
    Goto,
    Hangup,
    Hours,
    Menu,
    Node,
    Play,
    Queue,
    Say,
    Transfer,
)


def _successors(node: Node) -> list[tuple[str, str]]:
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
    """Every problem in a set of flows: missing references, bad prompts, input-less loops and runs."""
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
            problems += _text_problems(nwhere, node)
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


Key = tuple[str, str]  # (flow id, node id)


def _text_problems(where: str, node: Node) -> list[Problem]:
    """Bad placeholders or control characters in a node's prompt templates."""
    texts: list[tuple[str, str]] = []
    if isinstance(node, Say):
        texts += [("text", node.text), *((f"texts.{k}", v) for k, v in node.texts.items())]
    elif isinstance(node, Menu):
        texts += [("prompt", node.prompt), *((f"prompts.{k}", v) for k, v in node.prompts.items()),
                  ("invalid_prompt", node.invalid_prompt), ("no_input_prompt", node.no_input_prompt)]
    elif isinstance(node, Transfer | Hangup):
        texts.append(("text", node.text))
    return [Problem(where, field, why) for field, text in texts for why in prompts.problems(text)]


def _inputless_edges(flows: dict[str, Flow]) -> dict[Key, list[Key]]:
    """Where each node that asks nothing leads: say/play/exclusion/hours/goto."""
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
    return edges


def _entries(flows: dict[str, Flow]) -> list[Key]:
    """Nodes where the engine starts walking: flow starts and where a menu or transfer leads."""
    out: list[Key] = []
    for fid, flow in flows.items():
        out.append((fid, flow.start))
        for node in flow.nodes.values():
            if isinstance(node, Menu | Transfer):
                out += [(fid, nid) for _, nid in _successors(node)]
    return list(dict.fromkeys(out))


def _inputless_loops(flows: dict[str, Flow]) -> list[Problem]:
    """Loops that never ask the caller, and runs longer than the engine walks (MAX_STEPS).

    One iterative depth-first walk: ``depth`` is how many nodes the engine visits from a
    node before it needs input or the call leaves the IVR (1 for a menu, queue, ...).
    """
    edges = _inputless_edges(flows)
    problems: list[Problem] = []
    depth: dict[Key, int] = {}
    on_path: dict[Key, int] = {}
    for root in edges:
        if root in depth:
            continue
        path, todo = [root], [iter(edges[root])]
        on_path[root] = 0
        while path:
            nxt = next(todo[-1], None)
            if nxt is None:
                cur = path.pop()
                todo.pop()
                del on_path[cur]
                depth[cur] = 1 + max(depth.get(k, 1) for k in edges[cur])
            elif nxt in on_path:
                loop = " -> ".join(f"{f}/{n}" for f, n in path[on_path[nxt]:])
                problems.append(Problem(f"flow {nxt[0]} node {nxt[1]}", "next",
                                        f"loops without caller input: {loop}"))
            elif nxt in edges and nxt not in depth:
                on_path[nxt] = len(path)
                path.append(nxt)
                todo.append(iter(edges[nxt]))
    if problems:
        return problems
    for fid, nid in _entries(flows):
        steps = depth.get((fid, nid), 1)
        if steps > MAX_STEPS:
            problems.append(Problem(
                f"flow {fid} node {nid}", "next",
                f"walks {steps} nodes without caller input; at most {MAX_STEPS} can run in one step"))
    return problems
