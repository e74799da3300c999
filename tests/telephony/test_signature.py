"""Our Twilio signature is exactly ``RequestValidator``'s, and our form parse is ``parse_qsl``'s."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from ivr.telephony.signature import SignatureChecker, _Multi, form_pairs

TOKEN = "test-token-123"
text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)
names = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=8)
urls = st.builds(lambda host, port, path, q: f"https://{host}{port}/{path}" + (f"?{q}" if q else ""),
                 st.sampled_from(["ivr.test", "a.example.com", "10.0.0.1"]),
                 st.sampled_from(["", ":443", ":8443"]), text,
                 st.dictionaries(names, text, max_size=3).map(urlencode))


@settings(max_examples=300, deadline=None)
@given(urls, st.dictionaries(names, text, max_size=8))
def test_compute_equals_twilio_for_plain_parameters(url: str, params: dict[str, str]) -> None:
    ours = SignatureChecker(TOKEN, None).compute(url, params)
    assert ours == RequestValidator(TOKEN).compute_signature(url, params)


@settings(max_examples=300, deadline=None)
@given(urls, st.dictionaries(names, st.lists(text, min_size=1, max_size=4), max_size=6))
def test_compute_equals_twilio_for_repeated_names_and_values(
        url: str, params: dict[str, list[str]]) -> None:
    ours = SignatureChecker(TOKEN, None).compute(url, params)
    assert ours == RequestValidator(TOKEN).compute_signature(url, _Multi(params))


@settings(max_examples=200, deadline=None)
@given(urls, st.dictionaries(names, text, max_size=6))
def test_valid_accepts_twilio_signatures_and_refuses_others(url: str, params: dict[str, str]) -> None:
    checker = SignatureChecker(TOKEN, None)
    good = RequestValidator(TOKEN).compute_signature(url, params)
    assert checker.valid(url, params, good)
    assert not checker.valid(url, params, RequestValidator("other").compute_signature(url, params))
    assert not checker.valid(url, {**params, "Extra": "1"}, good)


def test_a_signature_over_the_url_without_its_port_still_passes() -> None:
    # Twilio signs with or without the port; the fast path misses, RequestValidator.validate finds it
    params = {"CallSid": "CA1", "From": "+8613800138000"}
    sig = RequestValidator(TOKEN).compute_signature("https://ivr.test/voice/wait", params)
    assert SignatureChecker(TOKEN, None).valid("https://ivr.test:443/voice/wait", params, sig)


def test_a_signature_that_is_not_ascii_is_refused_not_an_error() -> None:
    assert not SignatureChecker(TOKEN, None).valid("https://ivr.test/", {"a": "b"}, "sig\u00e9")


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(text, st.sampled_from(["&", "=", "+", "%", "%2B", "%zz", "%e4%b8", "&&"])),
                max_size=12).map("".join))
def test_form_pairs_equal_parse_qsl(body: str) -> None:
    assert form_pairs(body) == parse_qsl(body, keep_blank_values=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(text, text), max_size=8))
def test_form_pairs_read_what_urlencode_wrote(pairs: list[tuple[str, str]]) -> None:
    assert form_pairs(urlencode(pairs)) == pairs
