"""jambonz webhooks: payloads as handler parameters; Jambonz-Signature against node-client's own checks."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from ivr.telephony.jambonz_hooks import JambonzSignature, params, parse_body, sign
from tests.specs.lint import node_verify, signature_vectors

SECRET = "wh_secret_cJqN8QnBq5x7ZkTR"


def _at(now: float) -> JambonzSignature:
    return JambonzSignature(SECRET, now=lambda: now)


def test_vectors_from_node_client_verify_as_node_client_says() -> None:
    vectors = signature_vectors()
    assert sum(v["valid"] for v in vectors) >= 5
    assert sum(not v["valid"] for v in vectors) >= 5
    for v in vectors:
        check = JambonzSignature(v["secret"], now=functools.partial(float, v["now"]))
        assert check.valid(v["body"].encode(), v["header"]) is v["valid"], (v["name"], v["node_error"])


def test_our_signature_is_accepted_by_node_client_and_tampering_is_not() -> None:
    body = json.dumps({"call_sid": "c9", "from": "+8613800138000", "to": "12345",
                       "speech": {"alternatives": [{"transcript": "路灯坏了"}]}}, ensure_ascii=False)
    header = sign(SECRET, body.encode(), 1767225600)
    assert node_verify(SECRET, body, header, now=1767225610) == (True, "")
    ok, error = node_verify(SECRET, body.replace("路灯", "路面"), header, now=1767225610)
    assert not ok
    assert "No matching" in error
    assert _at(1767225610).valid(body.encode(), header)
    assert not _at(1767225610).valid(body.replace("路灯", "路面").encode(), header)


@pytest.mark.parametrize(("header", "now"), [
    (None, 1000), ("", 1000), ("t=abc,v1=00", 1000), ("t=1000", 1000), ("v1=ab", 1000),
])
def test_malformed_headers_are_refused(header: str | None, now: float) -> None:
    assert not _at(now).valid(b"{}", header)


def test_the_tolerance_window_both_ways() -> None:
    header = sign(SECRET, b"{}", 10_000)
    assert _at(10_300).valid(b"{}", header)
    assert not _at(10_301).valid(b"{}", header)  # replayed too late (node-client refuses too)
    assert not _at(9_699).valid(b"{}", header)  # dated in the future beyond the window
    assert JambonzSignature(SECRET, now=lambda: 0, enabled=False).valid(b"{}", None)


def test_secret_rotation_accepts_either_secret() -> None:
    check = JambonzSignature(["new-secret", SECRET], now=lambda: 10.0)
    assert check.valid(b"{}", sign(SECRET, b"{}", 5))
    assert check.valid(b"{}", sign("new-secret", b"{}", 5))
    assert not check.valid(b"{}", sign("older", b"{}", 5))


INCOMING = {"call_sid": "b5e3", "call_id": "7ade", "application_sid": "a1", "account_sid": "acc",
            "direction": "inbound", "from": "+8613800138000", "to": "12345", "caller_name": "",
            "sip_status": 100, "sip_reason": "Trying", "call_status": "trying",
            "sip": {"headers": {"x": "y"}}}


@pytest.mark.parametrize(("payload", "expected"), [
    (INCOMING, {"CallSid": "b5e3", "From": "+8613800138000", "To": "12345", "Direction": "inbound",
                "CallStatus": "queued", "SipStatus": "100", "AccountSid": "acc", "CallerName": ""}),
    ({**INCOMING, "call_status": "in-progress", "digits": "9", "reason": "dtmfDetected"},
     {"Digits": "9", "CallStatus": "in-progress", "Reason": "dtmfDetected"}),
    ({**INCOMING, "reason": "speechDetected", "speech": {"is_final": True, "language_code": "cmn-Hans-CN",
      "alternatives": [{"confidence": 0.9, "transcript": " 我要投诉 "}, {"transcript": "我要头书"}]}},
     {"SpeechResult": "我要投诉"}),
    ({**INCOMING, "speech": {"transcripts": [{"alternatives": [{"transcript": "English"}]}]}},
     {"SpeechResult": "English"}),
    ({**INCOMING, "call_status": "in-progress", "dial_call_status": "no-answer", "dial_sip_status": 487,
      "dial_call_sid": "child1"},
     {"DialCallStatus": "no-answer", "DialSipStatus": "487", "DialCallSid": "child1"}),
    ({**INCOMING, "dial_call_status": "completed", "duration": 95.4}, {"DialCallDuration": "95"}),
    ({"call_sid": "child1", "parent_call_sid": "b5e3", "direction": "outbound", "call_status": "in-progress"},
     {"CallSid": "child1", "ParentCallSid": "b5e3"}),
    ({"call_sid": "leg2", "event": "leave", "conference_sid": "x"},
     {"StatusCallbackEvent": "participant-leave"}),
    ({**INCOMING, "call_status": "completed"}, {"CallStatus": "completed"}),
])
def test_payloads_map_to_the_handlers_parameters(payload: dict[str, Any], expected: dict[str, str]) -> None:
    got = params(payload)
    assert {k: got.get(k) for k in expected} == expected
    assert "sip" not in got
    assert "Sip" not in got


@pytest.mark.parametrize("body", [b"", b"not json", b"[1,2]", b"\xff\xfe", b'"text"'])
def test_unparseable_bodies_give_no_parameters(body: bytes) -> None:
    assert parse_body(body) == {}


def test_no_speech_gives_no_speech_result() -> None:
    speech: object
    for speech in (None, {}, {"alternatives": []}, {"alternatives": [{"confidence": 0}]}, "x"):
        assert "SpeechResult" not in params({"call_sid": "c", "speech": speech})
