"""The flow model: IVR flows as typed nodes.

Pure: no I/O. A flow is a named graph of nodes; the engine (``engine.py``) walks it.
Node kinds:

=========  ==========================================================================
say        speak ``text`` (a prompt template, ``prompts.py``: {line_name} {number} {notice}
           {department}), then ``next``
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

Validation (:mod:`ivr.core.flow_checks`) refuses what the engine cannot run.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ivr.core.ids import Ident

MAX_STEPS = 64  # most nodes one step of a call may walk without caller input (engine and validation)
NodeId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")]
DTMF_KEYS = frozenset("0123456789*#")
# A menu's retry prompts when the flow keeps the default: said in the call's language
# (the caller's choice, else the flow's; matched on its primary subtag), else as written.
RETRY_PROMPTS: dict[str, dict[str, str]] = {
    "invalid_prompt": {"zh": "对不起，您的输入有误。", "en": "Sorry, that was not a valid choice."},
    "no_input_prompt": {"zh": "对不起，没有收到您的输入。", "en": "Sorry, we did not hear you."},
}


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Say(_Node):
    """Speak a text, then go on."""

    kind: Literal["say"]
    text: str = Field(min_length=1)
    texts: dict[Language, str] = Field(default_factory=dict, description="language -> text")
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
    language: Language | None = Field(None, description="choosing this option switches the call's language")


class Menu(_Node):
    """Ask the caller and branch on keys or speech."""

    kind: Literal["menu"]
    prompt: str = Field(min_length=1)
    prompts: dict[Language, str] = Field(default_factory=dict, description="language -> prompt")
    options: dict[str, Option]
    timeout: int = Field(5, ge=1, le=60)
    retries: int = Field(2, ge=0, le=5)
    no_input: NodeId | None = None
    invalid_prompt: str = RETRY_PROMPTS["invalid_prompt"]["zh"]
    no_input_prompt: str = RETRY_PROMPTS["no_input_prompt"]["zh"]
    fallback: NodeId


class Queue(_Node):
    """Wait for a seat."""

    kind: Literal["queue"]
    queue: Ident | None = None
    skill: Ident | None = None
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
    language: Language = "zh-CN"
    voice: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    revision: int = Field(1, ge=1)
    start: NodeId
    nodes: dict[NodeId, Node]
