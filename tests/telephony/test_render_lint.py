"""Every document shape, rendered in both dialects, passes the platforms' own specs; bad ones do not."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from ivr.core.speech import SpeechTable
from ivr.telephony import doc as d
from ivr.telephony import twiml as old_twiml
from ivr.telephony.jambonz import JambonzRenderer
from ivr.telephony.twiml_render import TwimlRenderer, xml_safe
from tests.specs.lint import allowed, jambonz_findings, twiml_findings
from tests.telephony.shapes import SHAPES

SPEECH = SpeechTable.standard()
TWIML = TwimlRenderer(SPEECH)
JAMBONZ = JambonzRenderer(SPEECH)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shape_passes_the_twiml_lint(name: str) -> None:
    assert twiml_findings(TWIML.render(SHAPES[name])) == []


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shape_passes_the_jambonz_schema(name: str) -> None:
    verbs = json.loads(JAMBONZ.render(SHAPES[name]))
    assert jambonz_findings(verbs) == []


def test_the_speech_table_uses_values_from_twilios_lists() -> None:
    types = allowed()["types"]
    for lang, entry in SPEECH.languages.items():
        assert entry.twilio.voice in types["SayVoice"], lang
        assert entry.twilio.language in types["SayLanguage"], lang
        assert entry.twilio.gather_language in types["GatherLanguage"], lang
    assert "zh-CN" not in types["GatherLanguage"]  # why the table has a separate Gather language


# --- the lint can fail -------------------------------------------------------------------

def test_the_current_twiml_module_fails_the_lint() -> None:
    """What twiml.py emits today: a Say without voice and a backup Dial without action/timeout."""
    findings = twiml_findings(str(old_twiml.apology("+861012345000")))
    assert any("no voice" in f for f in findings), findings
    assert any("needs action" in f for f in findings), findings
    assert any("needs timeout" in f for f in findings), findings


@pytest.mark.parametrize(("xml", "expected"), [
    ('<Response><Say voice="Polly.Zhiyu" language="klingon">x</Say></Response>', "not a valid SayLanguage"),
    ('<Response><Say voice="Robot.Bender">x</Say></Response>', "not a valid SayVoice"),
    ('<Response><Say voice="Google.cmn-CN-Standard-A" language="en-US">x</Say></Response>',
     "does not speak language en-US"),
    ('<Response><Gather input="dtmf speech" language="zh-CN" action="/g"/></Response>',
     "not a valid GatherLanguage"),
    ('<Response><Gather input="dtmf speech" action="/g"/></Response>', "without language"),
    ('<Response><Gather input="dtmf keys" action="/g"/></Response>', "is not one of GatherInput"),
    ('<Response><Gather numDigits="one" action="/g"/></Response>', "not a valid number"),
    ('<Response><Dial timeout="20" action="/d" colour="red"><Number>+8610</Number></Dial></Response>',
     "unknown attribute colour"),
    ('<Response><Dial><Number>+861012345000</Number></Dial></Response>', "needs action"),
    ('<Response><Dial action="/d">+861012345000</Dial></Response>', "needs timeout"),
    ('<Response><Dial action="/d" timeout="9"><Number statusCallbackEvent="picked">1</Number></Dial>'
     "</Response>", "is not one of NumberEvent"),
    ('<Response><Hangup reason="x"/></Response>', "takes no attributes"),
    ("<Response><Speak>x</Speak></Response>", "unknown TwiML element"),
    ("<Response><Say>x", "not well-formed"),
    ("<Reply/>", "not Response"),
])
def test_bad_twiml_has_findings(xml: str, expected: str) -> None:
    findings = twiml_findings(xml)
    assert any(expected in f for f in findings), findings


@pytest.mark.parametrize(("verbs", "expected"), [
    ([{"verb": "dial", "actionHook": "/d", "timeout": 5}], "missing value for target"),
    ([{"verb": "dial", "target": [{"type": "phone", "number": "1"}]}], "dial needs actionHook"),
    ([{"verb": "dial", "actionHook": "/d", "timeout": 5, "target": [{"type": "pstn", "number": "1"}]}],
     "invalid value pstn"),
    ([{"verb": "gather", "actionHook": "/g", "input": "digits"}], "input is not an array"),
    ([{"verb": "gather", "actionHook": "/g", "input": ["speech"]}], "without a recognizer language"),
    ([{"verb": "say", "text": "你好"}], "without a synthesizer voice"),
    ([{"verb": "say", "text": "x", "synthesizer": {"voice": "v", "language": "l"}}],
     "missing value for vendor"),
    ([{"verb": "pause", "length": "10"}], "invalid data type"),
    ([{"verb": "redirect"}], "missing value for actionHook"),
    ([{"verb": "hold"}], "invalid instruction"),
    ({"verb": "hangup"}, "must be array"),
])
def test_bad_jambonz_verbs_have_findings(verbs: object, expected: str) -> None:
    findings = jambonz_findings(verbs)  # type: ignore[arg-type]
    assert any(expected in f for f in findings), findings


# --- conformance of the renderers --------------------------------------------------------

def _twiml(*verbs: d.Verb) -> ET.Element:
    return ET.fromstring(TWIML.render(d.doc(*verbs)))


def test_hash_offered_as_a_key_turns_the_finish_key_off() -> None:
    offered = d.Gather("https://x/g", (d.Say("重听请按#"),), num_digits=1, keys=("1", "#"))
    plain = d.Gather("https://x/g", (d.Say("请按1"),), num_digits=1, keys=("1",))
    assert _twiml(offered).find("Gather").get("finishOnKey") == ""  # type: ignore[union-attr]
    assert _twiml(plain).find("Gather").get("finishOnKey") == "#"  # type: ignore[union-attr]
    assert "finishOnKey" not in JAMBONZ.verbs(d.doc(offered))[0]
    assert JAMBONZ.verbs(d.doc(plain))[0]["finishOnKey"] == "#"


def test_the_voice_follows_the_language_of_each_text() -> None:
    root = _twiml(d.Say("您好"), d.Say("Hello", "en-US"), d.Say("Hello", "en-GB"), d.Say("x", "fr-FR"))
    pairs = [(s.get("voice"), s.get("language")) for s in root.iter("Say")]
    zh, en = SPEECH.languages["zh-CN"].twilio, SPEECH.languages["en-US"].twilio
    assert pairs == [(zh.voice, zh.language), (en.voice, en.language), (en.voice, en.language),
                     (zh.voice, zh.language)]
    says = JAMBONZ.verbs(d.doc(d.Say("您好"), d.Say("Hello", "en-US")))
    assert [s["synthesizer"]["voice"] for s in says] == ["cmn-CN-Standard-A", "en-US-Standard-C"]


def test_speech_gather_listens_in_the_recognition_language() -> None:
    g = d.Gather("https://x/g", (d.Say("请说出您的问题"),), speech=True, hints=("噪音",))
    assert _twiml(g).find("Gather").get("language") == "cmn-Hans-CN"  # type: ignore[union-attr]
    verb = JAMBONZ.verbs(d.doc(g))[0]
    assert verb["recognizer"] == {"vendor": "google", "language": "cmn-Hans-CN", "hints": ["噪音"]}
    assert verb["input"] == ["digits", "speech"]


def test_every_dial_has_an_action_and_a_timeout() -> None:
    for shape in SHAPES.values():
        for dial in ET.fromstring(TWIML.render(shape)).iter("Dial"):
            if dial.find("Conference") is None:
                assert dial.get("action"), ET.tostring(dial)
                assert dial.get("timeout"), ET.tostring(dial)
        for verb in JAMBONZ.verbs(shape):
            if verb["verb"] == "dial":
                assert verb["actionHook"], verb
                assert verb["timeout"], verb


def test_text_loses_characters_xml_forbids() -> None:
    hostile = "您好\x00\x08\x0b\x1f\ufffe end \U0001f600"
    root = _twiml(d.Say(hostile), d.Redirect("https://x/w?a=\x01"))
    assert root.find("Say").text == "您好 end \U0001f600"  # type: ignore[union-attr]
    assert root.find("Redirect").text == "https://x/w?a="  # type: ignore[union-attr]
    assert xml_safe("tab\tnewline\n") == "tab\tnewline\n"


def test_seat_targets_by_endpoint_kind() -> None:
    def target(endpoint: str) -> dict[str, object]:
        verb = JAMBONZ.verbs(d.doc(d.DialSeat(endpoint, 20, "https://x/done", "https://x/ans")))[0]
        assert verb["answerOnBridge"] is True
        assert verb["timeout"] == 20
        return dict(verb["target"][0])

    assert target("client:s01") == {"type": "user", "name": "s01", "confirmHook": "https://x/ans"}
    assert target("sip:s02@pbx")["type"] == "sip"
    assert target("+8613900139000")["type"] == "phone"
    nouns = [next(iter(_twiml(d.DialSeat(e, 20, "https://x/done", "https://x/ans")).find("Dial"))).tag  # type: ignore[arg-type]
             for e in ("client:s01", "sip:s02@pbx", "+8613900139000")]
    assert nouns == ["Client", "Sip", "Number"]


def test_jambonz_gather_nests_the_last_prompt_and_plays_the_rest_first() -> None:
    verbs = JAMBONZ.verbs(SHAPES["hold loop with the callback offer"])
    assert [v["verb"] for v in verbs] == ["say", "say", "gather", "redirect"]
    assert verbs[2]["play"] == {"url": "https://ivr.test/static/hold.mp3"}
