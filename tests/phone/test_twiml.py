"""Reading TwiML as Twilio does: verbs, nouns, defaults, relative URLs, garbage."""

from __future__ import annotations

import pytest
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from ivr.phone import twiml

DOC = "https://ivr.local/voice/incoming"


def test_every_verb_with_twilio_defaults() -> None:
    r = VoiceResponse()
    r.say("您好", language="zh-CN")
    r.play("https://x/m.mp3", loop=2)
    r.pause(length=10)
    g = Gather(action="/voice/gather?n=menu", num_digits=1, timeout=3, input="dtmf speech",
               action_on_empty_result=True, language="zh-CN", hints="着火,报警")
    g.say("请按1", language="zh-CN")
    r.append(g)
    r.redirect("/voice/wait?loop=1")
    r.hangup()
    verbs = twiml.parse(str(r), DOC)
    say, play, pause, gather, redirect, hangup = verbs
    assert say == twiml.Say("您好", "zh-CN")
    assert play == twiml.Play("https://x/m.mp3", loop=2)
    assert pause == twiml.Pause(10.0)
    assert isinstance(gather, twiml.Gather)
    assert gather.action == "https://ivr.local/voice/gather?n=menu"
    assert (gather.timeout, gather.num_digits, gather.finish_on_key) == (3.0, 1, "#")
    assert gather.input == {"dtmf", "speech"}
    assert gather.action_on_empty_result
    assert gather.hints == ("着火", "报警")
    assert gather.prompts == (twiml.Say("请按1", "zh-CN"),)
    assert redirect == twiml.Redirect("https://ivr.local/voice/wait?loop=1")
    assert hangup == twiml.Hangup()


def test_gather_defaults_are_twilios() -> None:
    (g,) = twiml.parse("<Response><Gather/></Response>", DOC)
    assert isinstance(g, twiml.Gather)
    assert (g.action, g.timeout, g.num_digits, g.finish_on_key) == (DOC, 5.0, None, "#")
    assert g.input == {"dtmf"}
    assert not g.action_on_empty_result


def test_dial_nouns_and_callbacks() -> None:
    r = VoiceResponse()
    d = Dial(action="/voice/dial-done?seat=p01", timeout=20, answer_on_bridge=True,
             caller_id="+8613800000000")
    d.client("p01", status_callback="/voice/seat-answered?seat=p01",
             status_callback_event="answered", status_callback_method="POST")
    r.append(d)
    r.dial("110")
    r.append(Dial())
    first, second, empty = twiml.parse(str(r), DOC)
    assert isinstance(first, twiml.Dial)
    assert isinstance(second, twiml.Dial)
    assert first.timeout == 20.0
    assert first.action.endswith("/voice/dial-done?seat=p01")
    (noun,) = first.nouns
    assert (noun.kind, noun.address, noun.endpoint) == ("client", "p01", "client:p01")
    assert noun.events == {"answered"}
    assert noun.status_callback == "https://ivr.local/voice/seat-answered?seat=p01"
    assert second.nouns == (twiml.Noun("number", "110"),)
    assert second.action == ""
    assert second.timeout == 30.0
    assert second.time_limit == 14400.0
    assert isinstance(empty, twiml.Dial)
    assert empty.nouns == ()


def test_client_identity_and_sip() -> None:
    text = ("<Response><Dial><Client><Identity>p02</Identity></Client>"
            "<Sip>sip:p03@pbx.local</Sip></Dial></Response>")
    (d,) = twiml.parse(text, DOC)
    assert isinstance(d, twiml.Dial)
    assert [n.endpoint for n in d.nouns] == ["client:p02", "sip:p03@pbx.local"]


@pytest.mark.parametrize("text", ["", "not xml", "<Html/>", "<Response><Say>x</Say>"])
def test_what_is_not_twiml(text: str) -> None:
    with pytest.raises(twiml.TwimlError):
        twiml.parse(text, DOC)


def test_unknown_verbs_are_kept_as_unsupported() -> None:
    assert twiml.parse("<Response><Enqueue>q</Enqueue></Response>") == [
        twiml.Unsupported("Enqueue")]


SHAPED = [  # a call's documents with its sid ({s}) in many places
    '<Response><Dial action="/voice/dial-done?call={s}&amp;seat=p01" timeout="20">'
    '<Client statusCallback="https://ivr.local/voice/seat-answered?call={s}" '
    'statusCallbackEvent="answered">p01</Client></Dial></Response>',
    '<Response><Gather action="https://ivr.local/voice/survey?call={s}" input="dtmf" '
    'numDigits="1"><Say language="zh-CN">请评价 {s}</Say></Gather><Hangup/></Response>',
    '<Response><Say>您前面还有3位</Say><Redirect>/voice/wait?call={s}&amp;n=2</Redirect>'
    '</Response>',
    '<Response><Dial><Number>{s}</Number></Dial><Play digits="1">{s}.mp3</Play></Response>',
    # where parse() changes the text: the shape must not be filled in
    '<Response><Redirect method="{s}">/voice/wait?call={s}</Redirect></Response>',
    '<Response><Gather hints="{s}, x" action="/g?c={s}"/></Response>',
    '<Response><Gather input="dtmf {s}" language="{s}"/></Response>',
    '<Response><Dial action="{s}:x/y"><Sip statusCallbackEvent="{s}">sip:a@b</Sip></Dial>'
    '</Response>',
    '<Response><Redirect>{s}:/voice/x</Redirect><Pause length="{s}"/></Response>',
    '<Response><{s}/><Say>{s}</Say></Response>',  # a tag: the shape is no XML
    '<Response><Reject reason="{s}"/><Play loop="{s}">u</Play></Response>',
]


@pytest.mark.parametrize("template", SHAPED)
def test_documents_parsed_by_shape_are_parsed_as_they_are(
        template: str, monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = twiml.Shapes()
    sids = ["CA" + "0123456789abcdef"[i % 16] * 16 + f"{i:016x}" for i in range(40)]
    sids += ["CA" + "9" * 32, "CA" + "f" * 32]
    real = twiml.parse
    parsed: list[str] = []

    def counted(text: str, doc_url: str = "") -> list[twiml.Verb]:
        parsed.append(text)
        return real(text, doc_url)
    monkeypatch.setattr(twiml, "parse", counted)
    for sid in sids:
        text, doc = template.format(s=sid), f"https://ivr.local/voice/x?call={sid}"
        assert shapes.parse(text, doc) == real(text, doc), sid
        assert shapes.parse(text, doc) == real(text, doc)  # again: the same document
    filled = all(shapes.shapes.values())
    assert len(parsed) == (2 if filled else 2 + len(sids) - 1)
    assert filled == (SHAPED.index(template) < 4)


def test_documents_with_two_sids_or_none_are_parsed_whole() -> None:
    shapes = twiml.Shapes()
    a, b = "CA" + "1" * 32, "CA" + "2" * 32
    text = f"<Response><Redirect>/w?call={a}&amp;other={b}</Redirect></Response>"
    assert shapes.parse(text, DOC) == twiml.parse(text, DOC)
    assert shapes.parse("<Response><Hangup/></Response>", DOC) == [twiml.Hangup()]
    assert shapes.shapes == {}
    with pytest.raises(twiml.TwimlError):
        shapes.parse(f"<Response><Say>{a}</Say>", DOC)
