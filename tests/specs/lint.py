"""The telephony lint: documents the service emits, checked against the platforms' own specs.

- :func:`twiml_findings` checks TwiML against the element, attribute and value lists read
  from the ``twilio`` npm package's TypeScript types (``extract-twiml.js`` writes them to
  ``allowed.json``), plus the conformance rules Twilio's docs state in prose: every
  ``<Say>`` has a voice (and a Google voice's language matches), every ``<Dial>`` that
  rings somebody has an action and a timeout, a speech ``<Gather>`` names its language.
- :func:`jambonz_findings` validates a verb array with ``@jambonz/verb-specifications``'
  own ``validateVerb`` in one long-lived node process (``jambonz-check.js``), plus the
  same conformance rules in jambonz terms.
- :func:`rest_findings` checks jambonz REST bodies with ``@jambonz/node-client``'s validators;
  :func:`node_verify` runs node-client's ``verifyJambonzSignature``; :func:`signature_vectors`
  gives vectors that node-client accepted or refused.

Set-up: ``make specs`` (part of ``make test``) runs ``npm ci`` in ``tests/specs``.
"""

from __future__ import annotations

import atexit
import json
import re
import subprocess
import threading
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

SPECS = Path(__file__).resolve().parent
MODULES = SPECS / "node_modules"
NO_ATTRIBUTES = {"Response", "Hangup", "Leave"}
RINGING_NOUNS = {"Number", "Client", "Sip"}


def _installed() -> None:
    if not (MODULES / "twilio").is_dir() or not (MODULES / "@jambonz").is_dir():
        raise RuntimeError(f"npm packages missing in {SPECS}: run `make specs` (npm ci there)")


@cache
def allowed() -> dict[str, Any]:
    """Element attributes and enum values from the twilio package's types (regenerated when stale)."""
    _installed()
    out = SPECS / "allowed.json"
    sources = [SPECS / "extract-twiml.js", SPECS / "package-lock.json", MODULES / "twilio" / "package.json"]
    if not out.exists() or out.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        text = subprocess.run(["node", "extract-twiml.js"], cwd=SPECS, check=True,
                              capture_output=True, text=True).stdout
        out.write_text(text, encoding="utf-8")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def _value_findings(where: str, attr: str, kind: str, value: str, types: dict[str, list[str]]) -> list[str]:
    if kind == "number":
        ok = re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
    elif kind == "boolean":
        ok = value in ("true", "false")
    elif kind.endswith("[]") and kind[:-2] in types:
        bad = [v for v in value.replace(",", " ").split() if v not in types[kind[:-2]]]
        return [f"{where}: {attr}={value!r}: {b!r} is not one of {kind[:-2]}" for b in bad]
    elif kind in types:
        ok = value in types[kind]
    else:
        ok = True  # string, or a type the extractor does not enumerate
    return [] if ok else [f"{where}: {attr}={value!r} is not a valid {kind}"]


def _element_findings(el: ET.Element, path: str, spec: dict[str, Any]) -> list[str]:
    where = f"{path}/{el.tag}"
    elements, types = spec["elements"], spec["types"]
    if el.tag in NO_ATTRIBUTES:
        found = [f"{where}: takes no attributes ({a})" for a in el.attrib]
    elif el.tag not in elements:
        return [f"{where}: unknown TwiML element"]
    else:
        found = []
        for attr, value in el.attrib.items():
            kind = elements[el.tag].get(attr)
            if kind is None:
                found.append(f"{where}: unknown attribute {attr}")
            else:
                found += _value_findings(where, attr, kind, value, types)
    found += _rules(el, where)
    for child in el:
        found += _element_findings(child, where, spec)
    return found


def _rules(el: ET.Element, where: str) -> list[str]:
    """Twilio's prose rules that the types cannot express."""
    found = []
    if el.tag == "Say":
        voice, lang = el.get("voice"), el.get("language")
        if not voice:
            found.append(f"{where}: no voice (Twilio then uses one that may not speak {lang})")
        elif voice.startswith("Google.") and lang and not voice.startswith(f"Google.{lang}-"):
            found.append(f"{where}: voice {voice} does not speak language {lang}")
        if not (el.text or "").strip():
            found.append(f"{where}: nothing to say")
    elif el.tag == "Dial":
        if any(c.tag in RINGING_NOUNS for c in el) or (el.text or "").strip():
            found += [f"{where}: a Dial that rings somebody needs {attr}"
                      for attr in ("action", "timeout") if not el.get(attr)]
    elif el.tag == "Gather" and "speech" in (el.get("input") or "") and not el.get("language"):
        found.append(f"{where}: speech Gather without language (Twilio assumes en-US)")
    return found


def twiml_findings(xml: str) -> list[str]:
    """Everything in a TwiML document that Twilio's published lists or rules do not allow."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    if root.tag != "Response":
        return [f"root element is {root.tag}, not Response"]
    return _element_findings(root, "", allowed())


class _Node:
    """One ``node jambonz-check.js`` process answering JSON lines."""

    def __init__(self) -> None:
        _installed()
        self._proc = subprocess.Popen(["node", "jambonz-check.js"], cwd=SPECS, text=True,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._lock = threading.Lock()
        atexit.register(self.close)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin
        assert self._proc.stdout
        with self._lock:
            self._proc.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("jambonz-check.js ended unexpectedly")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer and "ok" not in answer:
            raise RuntimeError(f"jambonz-check.js: {answer['error']}")
        return answer

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin
            self._proc.stdin.close()
            self._proc.wait(timeout=5)


@cache
def _node() -> _Node:
    return _Node()


def _jambonz_rules(verbs: list[dict[str, Any]]) -> list[str]:
    found = []
    for i, v in enumerate(verbs):
        where, name = f"verb {i} ({v.get('verb')})", v.get("verb")
        says = [v] if name == "say" else [v["say"]] if name == "gather" and "say" in v else []
        for say in says:
            synth = say.get("synthesizer") or {}
            if not synth.get("voice") or not synth.get("language"):
                found.append(f"{where}: say without a synthesizer voice and language")
        if name == "dial":
            found += [f"{where}: dial needs {a}" for a in ("actionHook", "timeout") if a not in v]
        if name == "gather":
            if "speech" in v.get("input", []) and not (v.get("recognizer") or {}).get("language"):
                found.append(f"{where}: speech gather without a recognizer language")
            if "actionHook" not in v:
                found.append(f"{where}: gather without actionHook")
    return found


def jambonz_findings(verbs: list[dict[str, Any]]) -> list[str]:
    """Everything in a verb array that @jambonz/verb-specifications or our rules refuse."""
    findings: list[str] = _node().ask({"kind": "verbs", "doc": verbs})["findings"]
    return findings + (_jambonz_rules(verbs) if isinstance(verbs, list) else [])


def rest_findings(kind: str, body: dict[str, Any]) -> list[str]:
    """What @jambonz/node-client's validators say of a Calls ``create`` or ``update`` body."""
    findings: list[str] = _node().ask({"kind": kind, "body": body})["findings"]
    return findings


def node_verify(secret: str, body: str, header: str, now: int) -> tuple[bool, str]:
    """node-client's verifyJambonzSignature on this request, at time ``now``."""
    answer = _node().ask({"kind": "verify", "secret": secret, "body": body, "header": header, "now": now})
    return bool(answer["ok"]), str(answer.get("error", ""))


@cache
def signature_vectors() -> tuple[dict[str, Any], ...]:
    """Jambonz-Signature vectors, each marked valid or not by node-client's own verifier."""
    _installed()
    text = subprocess.run(["node", "jambonz-check.js", "vectors"], cwd=SPECS, check=True,
                          capture_output=True, text=True).stdout
    return tuple(json.loads(text))
