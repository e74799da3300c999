"""The Dialect interface for both platforms, and jambonz's REST CallControl over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from ivr.config import load, load_speech, read_raw
from ivr.core.errors import ConfigError
from ivr.core.speech import SpeechTable
from ivr.telephony import doc as d
from ivr.telephony.dialect import Dialect, JambonzDialect, TwilioDialect
from ivr.telephony.jambonz_hooks import JambonzSignature, sign
from ivr.telephony.jambonz_rest import JambonzCallControl
from ivr.telephony.rest import CallControl, RecordingCallControl
from ivr.telephony.signature import SignatureChecker
from tests.specs.lint import jambonz_findings, rest_findings, twiml_findings
from tests.telephony.fake_jambonz import FakeJambonz

ROOT = Path(__file__).resolve().parents[2]
SPEECH = SpeechTable.standard()
URL = "https://ivr.test/voice/incoming"


def _twilio() -> TwilioDialect:
    return TwilioDialect(SPEECH, SignatureChecker("tok", "https://ivr.test"), RecordingCallControl())


def _jambonz(now: float = 1000.0) -> JambonzDialect:
    return JambonzDialect(SPEECH, JambonzSignature("sek", now=lambda: now), RecordingCallControl())


def test_twilio_dialect_parses_verifies_and_renders() -> None:
    dialect: Dialect = _twilio()
    form = {"CallSid": "CA1", "From": "+8613800138000", "To": "12345", "Digits": "9"}
    body = urlencode(form).encode()
    good = {"X-Twilio-Signature": SignatureChecker("tok", None).sign(URL, form)}
    assert dialect.verify(URL, body, good)
    assert dialect.verify(URL, body, {k.lower(): v for k, v in good.items()})
    assert not dialect.verify(URL, body.replace(b"9", b"8"), good)
    assert not dialect.verify(URL, body, {})
    assert dialect.parse(body) == form
    assert dialect.media_type == "application/xml"
    assert twiml_findings(dialect.render(d.doc(d.Say("您好"), d.Hangup()))) == []


def test_jambonz_dialect_parses_verifies_and_renders() -> None:
    dialect: Dialect = _jambonz(now=1000.0)
    body = json.dumps({"call_sid": "c1", "from": "+8613800138000", "to": "12345",
                       "call_status": "in-progress", "digits": "1"}).encode()
    assert dialect.verify(URL, body, {"Jambonz-Signature": sign("sek", body, 990)})
    assert dialect.verify(URL, body, {"jambonz-signature": sign("sek", body, 990)})
    assert not dialect.verify(URL, body, {"Jambonz-Signature": sign("other", body, 990)})
    assert not dialect.verify(URL, body, {"Jambonz-Signature": sign("sek", body, 100)})
    assert dialect.parse(body)["Digits"] == "1"
    assert dialect.media_type == "application/json"
    assert jambonz_findings(json.loads(dialect.render(d.doc(d.Say("您好"), d.Hangup())))) == []
    assert json.loads(dialect.render(d.doc())) == []


def test_speech_table_file_matches_the_built_in_one_and_is_not_part_of_the_plan() -> None:
    assert load_speech(ROOT) == SpeechTable.standard()
    assert load(ROOT).speech == SpeechTable.standard()
    assert "languages" not in read_raw(ROOT)["plan"]


def test_a_bad_speech_table_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "numbers").mkdir()
    assert load_speech(tmp_path) == SpeechTable.standard()  # no file: built in
    (tmp_path / "numbers" / "speech.yaml").write_text(
        "default: fr-FR\nlanguages:\n  zh-CN:\n    twilio: {voice: Polly.Zhiyu}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_speech(tmp_path)
    text = str(err.value)
    assert "numbers/speech.yaml" in text
    assert "language" in text
    assert "jambonz" in text


def test_unlisted_languages_fall_back() -> None:
    assert SPEECH.of("en-GB") == SPEECH.languages["en-US"]
    assert SPEECH.of("EN") == SPEECH.languages["en-US"]
    assert SPEECH.of("yue-HK") == SPEECH.languages["zh-CN"]
    assert SPEECH.of("") == SPEECH.languages["zh-CN"]


# --- jambonz REST over real HTTP ---------------------------------------------------------

async def test_jambonz_call_control_redirects_and_places_calls(fake_jambonz: FakeJambonz) -> None:
    control = JambonzCallControl(f"http://127.0.0.1:{fake_jambonz.port}", "acc-1", "key-9",
                                 status_url="https://ivr.test/voice/status")
    as_protocol: CallControl = control
    await as_protocol.redirect("call-1", "https://ivr.test/voice/wait?lang=zh-CN")
    await control.drain()
    sid = await as_protocol.create_call("+8613800138000", "+861065123456",
                                        "https://ivr.test/voice/callback-connect?call=c1",
                                        "https://ivr.test/voice/callback-status?call=c1")
    sid2 = await control.create_call("sip:s01@pbx", "+861065123456", "https://ivr.test/x")
    await control.aclose()
    assert sid == sid2 == "call-7"
    (m1, p1, b1, a1), (m2, p2, b2, _), (_, _, b3, _) = fake_jambonz.requests
    assert (m1, p1, a1) == ("PUT", "/v1/Accounts/acc-1/Calls/call-1", "Bearer key-9")
    assert b1 == {"call_hook": {"url": "https://ivr.test/voice/wait?lang=zh-CN", "method": "POST"}}
    assert (m2, p2) == ("POST", "/v1/Accounts/acc-1/Calls")
    assert b2["to"] == {"type": "phone", "number": "+8613800138000"}
    assert b2["from"] == "+861065123456"
    assert b2["call_status_hook"]["url"] == "https://ivr.test/voice/callback-status?call=c1"
    assert b3["to"] == {"type": "sip", "sipUri": "sip:s01@pbx"}
    assert b3["call_status_hook"]["url"] == "https://ivr.test/voice/status"
    # the bodies pass @jambonz/node-client's own validators
    assert rest_findings("update", b1) == []
    assert rest_findings("create", b2) == []
    assert rest_findings("create", b3) == []
    assert rest_findings("create", {**b2, "call_status_hook": None}) != []  # the check can fail


@pytest.mark.error_log("redirect of call-1 failed", "redirect of call-2 failed")
async def test_jambonz_call_control_failures(fake_jambonz: FakeJambonz,
                                             caplog: pytest.LogCaptureFixture) -> None:
    fake_jambonz.fail = True
    control = JambonzCallControl(f"http://127.0.0.1:{fake_jambonz.port}/v1/", "acc-1", "key-9",
                                 status_url="https://ivr.test/voice/status")
    await control.redirect("call-1", "https://ivr.test/voice/wait")
    await control.drain()  # a failed redirect is logged, not raised: the hold loop connects later
    assert "redirect of call-1 failed" in caplog.text
    with pytest.raises(RuntimeError, match="HTTP 500"):
        await control.create_call("+8613800138000", "+861065123456", "https://ivr.test/x")
    await control.aclose()
    unreachable = JambonzCallControl("http://127.0.0.1:9", "a", "k", status_url="https://ivr.test/s",
                                     client=httpx.AsyncClient(timeout=1))
    await unreachable.redirect("call-2", "https://ivr.test/voice/wait")
    await unreachable.aclose()
    assert "redirect of call-2 failed" in caplog.text
