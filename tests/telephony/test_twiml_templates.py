"""TwiML rendered from a per-shape template equals TwiML built with the twilio builder.

``TwimlRenderer.render`` fills cached templates (issue 14); ``render_built`` builds every
document with ``twilio.twiml``. For any document, hostile text included, both must be the
same XML document (compared in canonical form: attribute order and escaping aside).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.core.speech import SpeechTable
from ivr.telephony import doc as d
from ivr.telephony.twiml_render import MAX_TEMPLATES, TwimlRenderer
from tests.specs.lint import twiml_findings

RENDERER = TwimlRenderer(SpeechTable.standard())
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", "您好 <x> & \"y\" 'z'", "\ue0000\ue000", "\x00\x01\n\r\t", "&amp;", "]]>"])
url = st.builds(lambda q: f"https://ivr.test/voice/wait?lang=zh-CN&loop=1&x={q}", text)
lang = st.sampled_from(["zh-CN", "en-US", "zh-TW"])
prompt = st.one_of(st.builds(d.Say, text, lang), st.builds(d.Play, url),
                   st.builds(d.Pause, st.integers(1, 30)))
verb = st.one_of(
    prompt,
    st.builds(d.Redirect, url),
    st.builds(d.Gather, url, st.lists(prompt, max_size=3).map(tuple), st.booleans(),
              st.none() | st.integers(1, 4), st.integers(1, 10), st.just("#"),
              st.sampled_from([(), ("1", "2"), ("1", "#")]), st.just(()), lang),
    st.builds(d.DialSeat, st.sampled_from(["client:p01", "sip:s1@pbx.example", "+8613800138000"]),
              st.integers(5, 30), url, url),
    st.builds(d.DialTarget, st.builds(d.Target, st.just("110"), st.sampled_from(["110", "sip:110@gw"])),
              url),
    st.builds(d.DialBackup, st.sampled_from(["+8612345000000", "sip:backup@gw"]), url),
    st.just(d.Hangup()),
)


def canonical(xml: str) -> str:
    return ET.canonicalize(xml.split("?>", 1)[1])


@settings(max_examples=300, deadline=None)
@given(st.lists(verb, max_size=5))
def test_a_filled_template_is_the_built_document(verbs: list[d.Verb]) -> None:
    document = d.Doc(tuple(verbs))
    built = RENDERER.render_built(document)
    for _ in range(2):  # the first call makes the template, the second fills it from the cache
        filled = RENDERER.render(document)
        assert canonical(filled) == canonical(built), (filled, built)
    assert twiml_findings(filled) == twiml_findings(built), filled


def test_documents_of_one_shape_share_a_template_and_the_cache_is_bounded() -> None:
    renderer = TwimlRenderer(SpeechTable.standard())
    for pos in range(50):
        renderer.render(d.doc(d.Say(f"您是第{pos}位", "zh-CN"), d.Pause(10),
                              d.Redirect(f"https://ivr.test/voice/wait?pos={pos}")))
    assert len(renderer._templates) == 1
    for n in range(MAX_TEMPLATES + 10):
        renderer.render(d.doc(d.Pause(n % 100 + 1), d.DialSeat(f"client:s{n}", 20, "a", "b")))
    assert len(renderer._templates) <= MAX_TEMPLATES


@settings(max_examples=200, deadline=None)
@given(st.lists(verb, min_size=1, max_size=4), st.lists(verb, min_size=1, max_size=4))
def test_a_template_is_never_filled_for_another_shape(first: list[d.Verb],
                                                      second: list[d.Verb]) -> None:
    # a fresh renderer, so the second document meets exactly the first one's template
    renderer = TwimlRenderer(SpeechTable.standard())
    for verbs in (first, second, first):
        document = d.Doc(tuple(verbs))
        assert canonical(renderer.render(document)) == canonical(renderer.render_built(document))


def test_says_in_other_languages_and_other_pauses_are_other_shapes() -> None:
    renderer = TwimlRenderer(SpeechTable.standard())
    for lang, seconds in (("zh-CN", 10), ("en-US", 10), ("en-US", 20), ("zh-TW", 20)):
        document = d.doc(d.Say("hello", lang), d.Pause(seconds), d.Redirect("https://ivr.test/w"))
        assert renderer.render(document) == renderer.render_built(document)
    assert len(renderer._templates) == 4
