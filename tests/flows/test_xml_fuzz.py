"""Issue 10 item 13: whatever text comes in, every voice answer is well-formed XML.

Control characters, a lone surrogate (``%ED%A0%80``) and U+FFFE are sent in Twilio's
parameters and in every query value of the service's own URLs, to every voice route,
on a call that is really waiting in the queue. Every answer must be 200 and parse; a
handler that raises (the caller would hear the apology) fails the test through the log.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import pytest

from tests.conftest import BASE, Phone
from tests.specs.lint import twiml_findings

CONTROLS = "".join(chr(c) for c in range(0x20)) + "\x7f"
# percent-encoded as sent on the wire; %ED%A0%80 is a UTF-8 encoded lone surrogate
FUZZ = [quote("a" + CONTROLS + "b"), "%ED%A0%80", quote("\ufffe\uffff"), "inf", "nan", "-1e999"]
VALID = {"lang": "zh-CN", "lg": "en-US", "ln": "12328", "f": "entry-12345", "r": "1",
         "n": "emergency", "t": "0", "q": "pool", "sk": "any", "pr": "0", "wd": "30",
         "target": "police", "call": "CAlive", "seat": "p01", "loop": "1", "pos": "1",
         "room": "xfer-CAlive", "topic": "litigation"}
POSTED = ("From", "To", "Digits", "SpeechResult")
LIVE = {"CallSid": "CAlive", "From": "+8613800000009", "To": "12328"}


def voice_paths(app: Any) -> list[str]:
    """Every voice webhook route of the app."""
    return sorted(p for p in app.openapi()["paths"] if p.startswith("/voice/"))


async def send(phone: Phone, path: str, query: dict[str, str], body: dict[str, str],
               sign: bool = True) -> httpx.Response:
    """POST with raw (already percent-encoded) query and body, signed as Twilio signs."""
    url = BASE + path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    raw = "&".join(f"{k}={v}" for k, v in body.items())
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if sign:
        headers["X-Twilio-Signature"] = phone.svc.checker.sign(
            url, dict(parse_qsl(raw, keep_blank_values=True)))
    return await phone.client.post(url, content=raw.encode("ascii"), headers=headers)


def well_formed(resp: httpx.Response, what: object) -> None:
    """A 200 answer that parses as a TwiML document."""
    assert resp.status_code == 200, (what, resp.status_code, resp.text[:300])
    root = ET.fromstring(resp.content)
    assert root.tag == "Response", what
    assert twiml_findings(resp.text) == [], what  # and Twilio would accept it


@pytest.fixture
async def live_call(phone: Phone) -> None:
    """A call waiting in the pool (no seat is logged in), for the routes that need one."""
    root = await phone.twiml("/voice/incoming", **LIVE)
    assert root[-1].tag in ("Redirect", "Pause", "Play"), ET.tostring(root)


async def test_every_voice_route_answers_well_formed_twiml_to_hostile_text(
        app_env: dict[str, Any], phone: Phone, live_call: None,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    paths = voice_paths(app_env["app"])
    assert len(paths) >= 10, paths
    valid_body = {k: quote(v) for k, v in LIVE.items()}
    sent = 0
    for path in paths:
        unsigned = await send(phone, path, {"lang": FUZZ[0]}, {"From": FUZZ[0]}, sign=False)
        assert unsigned.status_code == 403, path
        for bad in FUZZ:
            for key in VALID:  # one query value hostile, the rest as the service writes them
                query = {k: quote(v) for k, v in VALID.items()} | {key: bad}
                well_formed(await send(phone, path, query, valid_body), (path, key, bad))
            for key in POSTED:  # one of Twilio's parameters hostile
                body = valid_body | {key: bad}
                query = {k: quote(v) for k, v in VALID.items()}
                well_formed(await send(phone, path, query, body), (path, key, bad))
            everything = {k: bad for k in VALID}
            well_formed(await send(phone, path, everything, {"CallSid": "CAlive"} | {
                k: bad for k in POSTED}), (path, "all", bad))
            sent += len(VALID) + len(POSTED) + 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors][:5]
    assert sent > 1000


async def test_the_service_own_values_are_checked_where_the_webhook_is_parsed(
        phone: Phone, live_call: None) -> None:
    # a language the flows do not speak: the default, never the raw value
    hold = await send(phone, "/voice/wait", {"lang": quote("en-US\x00<x>")}, {"CallSid": "CAlive"})
    well_formed(hold, "wait")
    root = ET.fromstring(hold.content)
    # Mandarin as the speech table (numbers/speech.yaml) tells Twilio to speak it
    assert {(el.get("language"), el.get("voice")) for el in root.iter("Say")} == {
        ("cmn-CN", "Google.cmn-CN-Standard-A")}, hold.text
    assert "lang=zh-CN" in (root.findtext("Redirect") or ""), hold.text
    english = await send(phone, "/voice/wait", {"lang": "en-US"}, {"CallSid": "CAlive"})
    assert {el.get("language") for el in ET.fromstring(english.content).iter("Say")} == {"en-US"}
    # a room that is no identifier is dropped; a good one is kept
    room = await send(phone, "/voice/conference", {"room": quote("xfer-1\x01</Conference>")}, {})
    assert "Conference" not in "".join(el.text or "" for el in ET.fromstring(room.content).iter())
    good = await send(phone, "/voice/conference", {"room": "xfer-CA1"}, {})
    assert [el.text for el in ET.fromstring(good.content).iter("Conference")] == ["xfer-CA1"]


@pytest.mark.parametrize("wd", ["inf", "-inf", "nan", "1e999"])
async def test_a_widen_time_that_is_no_finite_number_is_dropped(
        phone: Phone, wd: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    query = urlencode({"ln": "12328", "q": "pool", "sk": "12328", "pr": "0", "lg": "zh-CN",
                       "wd": wd})
    resp = await phone.post(f"/voice/queue?{query}", CallSid=f"CAwd{wd}", From="+8613800000010")
    well_formed(resp, wd)
    assert [el.tag for el in ET.fromstring(resp.content)][-1] == "Redirect", resp.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    info = await phone.svc.store().call_info(f"CAwd{wd}")
    assert info, "the call was queued"
