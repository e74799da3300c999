"""The number plan: dialed numbers -> line, merge mode and route.

Pure: no I/O. Numbers arrive from Twilio in many shapes (``12366``, ``+8612366``,
``010-12345``, ``+86 10 12345``, a purchased DID); :func:`normalise` turns each
into one canonical form so that lines match on exact aliases.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ivr.core import prompts
from ivr.core.ids import Ident

_FORMATTING = re.compile(r"[\s\-().]")


class MergeMode(StrEnum):
    """How a line reaches the 12345 center (DOMAIN.md)."""

    HUB = "hub"  # 12345 itself
    WHOLE = "whole"  # 整体并入: number retired, notice then the 12345 pool
    DUAL = "dual"  # 双号并行: number kept, straight into the 12345 pool with the line's skill
    SUB = "sub"  # 设分中心: number kept, own sub-center queue and seats


class Line(BaseModel):
    """One dialable line and its route."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{
        "number": "12328", "name": "交通运输热线", "name_en": "12328 transport", "department": "交通运输部门",
        "mode": "dual", "queue": "pool", "skill": "12328", "flow": "dual-number", "widen_after": 30}]})

    number: str = Field(pattern=r"^\+?[0-9]{3,15}$")
    name: str
    name_en: str = ""
    department: str = ""
    mode: MergeMode
    aliases: tuple[str, ...] = ()
    queue: Ident
    skill: Ident = "any"
    flow: str
    notice: str = ""
    priority: int = Field(0, ge=0, le=9)
    widen_after: float | None = Field(30.0, ge=0)
    # the platform of the calls the service places for this line (queued callbacks);
    # None: the deployment's (IVR_DIALECT). Calls that come in keep their own platform.
    dialect: Literal["twilio", "jambonz"] | None = None

    @model_validator(mode="after")
    def _notice_for_whole_merge(self) -> Line:
        if self.mode is MergeMode.WHOLE and not self.notice:
            raise ValueError("a whole-merge line needs a notice telling callers about 12345")
        return self

    @field_validator("notice")
    @classmethod
    def _notice_template(cls, notice: str) -> str:
        bad = prompts.problems(notice, prompts.FIELDS - {"notice"})
        if bad:
            raise ValueError("; ".join(bad))
        return notice


class Target(BaseModel):
    """A transfer destination: emergency, utility or a neighbouring city's 12345."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{
        "number": "110", "name": "110报警服务台", "name_en": "Police", "kind": "emergency"}]})

    number: str = Field(pattern=r"^\+?[0-9]{3,15}$")
    name: str
    name_en: str = ""
    kind: str = Field("emergency", pattern=r"^(emergency|utility|region|other)$")
    # what is shown and said is `number`/`name`; what is dialled is `dial` (E.164 or a SIP
    # URI at the carrier gateway), else `number`
    dial: str = Field("", pattern=r"^(|\+[1-9][0-9]{6,14}|sips?:\S+)$")
    caller_id: str = Field("", pattern=r"^(|caller|center|none)$")  # "" = the kind's policy

    def address(self) -> str:
        """How the target is dialled: ``dial``, else its ``number``."""
        return self.dial or self.number

    def caller_id_policy(self) -> str:
        """``caller``, ``center`` or ``none``: this target's own, else its kind's."""
        return self.caller_id or CALLER_ID_BY_KIND[self.kind]


# Whose number a transfer presents: emergency, utility and region targets see the caller
# (to call back); others the center's own verified number.
UNKNOWN_LINE = "unknown"  #: the line counted for a dialed number the plan does not know
CALLER_ID_BY_KIND = {"emergency": "caller", "utility": "caller", "region": "caller", "other": "center"}
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
#: +86 and a mobile number: ``caller_key`` of it is itself (no short code, no 86 twice)
_CN_MOBILE = re.compile(r"\+861[0-9]{10}")


def caller_id_for(target: Target, caller: str, center_number: str | None) -> str | None:
    """The caller ID for a transfer to ``target``; None leaves it to the platform.

    Only a full E.164 number is ever returned: never a short code (12345, 110) nor
    anything else a carrier or Twilio would refuse. ``center_number`` must be the
    center's verified outbound number (from settings).
    """
    policy = target.caller_id_policy()
    number = caller if policy == "caller" else center_number if policy == "center" else None
    return number if number and _E164.match(number) else None


class Exclusion(BaseModel):
    """A matter 12345 does not take, and the channel that does (litigation, petitions, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    text: str = Field(min_length=1)
    text_en: str = ""


class NumberPlan(BaseModel):
    """All lines and transfer targets of one center."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    area_code: str = Field("10", pattern=r"^[1-9][0-9]{1,3}$")
    default_line: str = "12345"
    unknown_notice: str = ""
    lines: tuple[Line, ...]
    targets: dict[str, Target] = {}
    exclusions: dict[str, Exclusion] = {}

    @model_validator(mode="after")
    def _unique_numbers(self) -> NumberPlan:
        seen: dict[str, str] = {}
        for line in self.lines:
            for raw in (line.number, *line.aliases):
                canon = normalise(raw, self.area_code)
                if canon in seen and seen[canon] != line.number:
                    raise ValueError(
                        f"number {raw!r} of line {line.number} is already used by line {seen[canon]}"
                    )
                seen[canon] = line.number
        if normalise(self.default_line, self.area_code) not in seen:
            raise ValueError(f"default_line {self.default_line!r} is not a line")
        return self

    def index(self) -> dict[str, Line]:
        """Every canonical number and alias -> its line."""
        out: dict[str, Line] = {}
        for line in self.lines:
            for raw in (line.number, *line.aliases):
                out[normalise(raw, self.area_code)] = line
        return out


def normalise(raw: str, area_code: str) -> str:
    """Canonical form of a dialed number: short codes bare, others E.164.

    Short service codes (3 to 6 digits, e.g. 110, 12345, 95598) dialed with this
    center's area code, with or without +86 or a trunk 0, become the bare code;
    other Chinese numbers become ``+86...``; foreign numbers stay ``+<cc>...``.
    Returns "" for input with no digits.
    """
    s = _FORMATTING.sub("", raw or "")
    if s.startswith("00"):
        s = "+" + s[2:]
    if s.startswith("+") and not s.startswith("+86"):
        digits = re.sub(r"\D", "", s)
        return "+" + digits if digits else ""
    if s.startswith("+86"):
        nsn = s[3:]
        if nsn.startswith("0"):
            nsn = nsn[1:]  # "+86 (0)10 ...": the trunk 0 is written, never dialled after +86
    elif s.startswith("0"):
        nsn = s[1:]
    else:
        nsn = s
    nsn = re.sub(r"\D", "", nsn)
    if not nsn:
        return ""
    if 3 <= len(nsn) <= 6 and not s.startswith(("+", "0")):
        return nsn  # a short code dialed locally
    rest = nsn[len(area_code) :]
    if nsn.startswith(area_code) and 3 <= len(rest) <= 6 and not rest.startswith("0"):
        return rest  # a short code after the area code (never begins with 0: 10086 is not 10+086)
    if 3 <= len(nsn) <= 6:
        return nsn  # +8612366: a national short code without area code
    return "+86" + nsn


def caller_key(raw: str, area_code: str) -> str:
    """One spelling for every way a caller's number may arrive (the repeated-call limit's key).

    ``+8613800138000``, ``8613800138000``, ``008613800138000``, ``13800138000``,
    ``138 0013 8000``, ``138-0013-8000`` and a still-encoded ``%2B8613800138000`` are one
    caller: all give ``+8613800138000``.
    """
    if _CN_MOBILE.fullmatch(raw or ""):
        return raw  # already the key (what most Chinese mobile callers arrive as)
    text = unquote(raw or "") if "%" in (raw or "") else (raw or "")
    key = normalise(text, area_code)
    if key.startswith("+8686") and len(key) == 16 and key[5] == "1":
        key = "+86" + key[5:]  # 86 and a mobile number, without the +
    return key


def mask(number: str) -> str:
    """Caller number with the middle digits hidden (138****5678), for logs."""
    digits = number or ""
    if len(digits) <= 7:
        return digits[:2] + "*" * max(0, len(digits) - 2)
    return digits[:-8] + "****" + digits[-4:]


def lookup(plan: NumberPlan, index: dict[str, Line], dialed: str) -> tuple[Line, bool]:
    """The line for a dialed number and whether it was known; unknown -> the default line."""
    line = index.get(normalise(dialed, plan.area_code))
    if line is not None:
        return line, True
    return index[normalise(plan.default_line, plan.area_code)], False
