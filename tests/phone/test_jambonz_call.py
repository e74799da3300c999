"""``ivr call --dialect jambonz`` and ``ivr simulate --dialect jambonz``: the phone plays jambonz.

The phone posts jambonz's signed JSON to /jambonz/... and plays the verb arrays the
service answers, read by the same translation the web tests use (``ivr.phone.jambonz``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from ivr.phone import twiml
from ivr.phone.call import Input
from ivr.phone.cli import call
from ivr.phone.jambonz import parse, payload
from ivr.phone.run import CallOptions, place_call
from ivr.settings import Settings
from ivr.sim.cli import simulate
from tests.phone.conftest import ROOT
from tests.phone.served import serve_in_thread

MONDAY_10AM = "2027-01-11 10:00"


@pytest.fixture
def env(redis_url: str) -> dict[str, str]:
    return {"IVR_REDIS_URL": redis_url, "IVR_CONFIG_DIR": str(ROOT),
            "IVR_JAMBONZ_WEBHOOK_SECRET": "jambonz-secret-of-the-phone-tests"}


def dial(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(call, [*args, "--dialect", "jambonz", "--fast", "--at",
                                       MONDAY_10AM, "--json"], env=env)
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    requests = [e for e in out["events"] if e["kind"] == "request"]
    assert requests
    assert {e["status"] for e in requests} == {200}
    assert all("/jambonz/" in e["url"] for e in requests), [e["url"] for e in requests]
    assert out["errors"] == []
    return out


def kinds(out: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in out["events"] if e["kind"] == kind]


def test_ivr_call_dialect_jambonz_reaches_a_seat_end_to_end(env: dict[str, str]) -> None:
    out = dial(env, "12345", "--demo")
    assert "12345" in kinds(out, "say")[0]["text"]
    menu = kinds(out, "menu")[0]
    assert (menu["timeout"], menu["num_digits"]) == (3.0, 1)
    (answered,) = kinds(out, "answered")
    assert answered["endpoint"].startswith("client:p0")
    urls = [e["url"] for e in kinds(out, "request")]
    assert urls[0].endswith("/jambonz/incoming")
    assert any("/jambonz/seat-answered" in u for u in urls), "the seat's confirmHook"
    assert any("/jambonz/dial-done" in u for u in urls)
    assert urls[-1].endswith("/jambonz/status")
    assert out["hung_up_by"] == "service"


def test_ivr_call_dialect_jambonz_waits_in_the_hold_loop_and_transfers(
        env: dict[str, str]) -> None:
    out = dial(env, "12345", "--press", "1")  # the emergency key: dialled to 110
    (dialled,) = kinds(out, "dial")
    assert dialled["to"] == ["110"]
    out = dial(env, "12328", "--hangup-after", "60")  # nobody logged in: the hold loop
    urls = [e["url"] for e in kinds(out, "request")]
    assert sum("/jambonz/wait" in u for u in urls) >= 2
    assert out["hung_up_by"] == "caller"


SECRET = "jambonz-secret-of-the-remote-test"


@pytest.fixture
def served(redis_url: str) -> Iterator[str]:
    """The app under uvicorn on loopback, with a jambonz webhook secret."""
    settings = Settings(redis_url=redis_url, config_dir=ROOT, center="tjr" + uuid.uuid4().hex[:8],
                        jambonz_webhook_secret=SECRET)
    with serve_in_thread(settings) as base:
        yield base


async def test_a_jambonz_call_over_http_signs_with_the_webhook_secret(served: str) -> None:
    settings = Settings(config_dir=ROOT)
    refused = await place_call(CallOptions(number="12345", url=served, auth_token="not-it",
                                           dialect="jambonz", settings=settings))
    assert not refused.ok
    assert "/jambonz/incoming answered 403" in refused.session.errors[0]
    # an IVR caller on 12345 presses 1: dialled to 110 through the jambonz verbs
    opts = CallOptions(number="12345", url=served, auth_token=SECRET, dialect="jambonz",
                       settings=settings, inputs=[Input(digits="1")], hangup_after=6)
    result = await place_call(opts)
    assert result.session.errors == []
    urls = [e.data["url"] for e in result.events if e.kind == "request"]
    assert urls[0] == f"{served}/jambonz/incoming"
    assert all("/jambonz/" in u for u in urls)
    assert [e.data["to"] for e in result.events if e.kind == "dial"] == [["110"]]


def test_ivr_simulate_dialect_jambonz_keeps_every_invariant(redis_url: str) -> None:
    env = {"IVR_REDIS_URL": redis_url, "IVR_CONFIG_DIR": str(ROOT)}
    runs = {}
    for dialect in ("jambonz", "twilio"):
        result = CliRunner().invoke(simulate, [
            "--dialect", dialect, "--seats", "pool=3", "--rate", "12345=40", "--rate",
            "12328=30", "--hours", "0.5", "--patience", "90", "--no-answer", "0.1",
            "--check-every", "300", "--seed", "5", "--json", "--quiet"], env=env)
        assert result.exit_code == 0, result.output
        runs[dialect] = data = json.loads(result.stdout)
        assert data["checks"]["ok"]
        assert data["checks"]["problems"] == []
    data = runs["jambonz"]
    pool = data["queues"]["pool"]
    assert pool["offered"] == pool["answered"] + pool["abandoned"] > 15
    assert data["run"]["webhooks"] > pool["offered"]
    assert data["run"]["webhooks_by_prefix"] == {"/jambonz": data["run"]["webhooks"]}
    # the same seed on the other platform: the same calls, the same figures
    assert (data["queues"], data["lines"]) == (runs["twilio"]["queues"], runs["twilio"]["lines"])
    assert runs["twilio"]["run"]["webhooks_by_prefix"] == {"/voice": data["run"]["webhooks"]}
    bad = CliRunner().invoke(simulate, ["--dialect", "jambonz", "--seeds", "1-2", "--quiet"],
                             env=env)
    assert bad.exit_code == 2
    assert "--seeds" in bad.output


def test_verb_arrays_are_read_as_jambonz_runs_them() -> None:
    verbs = [
        {"verb": "say", "text": "您好", "synthesizer": {"vendor": "google", "language": "cmn-CN",
                                                      "voice": "cmn-CN-Wavenet-A"}},
        {"verb": "gather", "actionHook": "/jambonz/gather?n=1", "input": ["digits"], "timeout": 3,
         "numDigits": 1, "say": {"text": "请按1", "synthesizer": {"language": "cmn-CN"}}},
        {"verb": "dial", "actionHook": "/jambonz/dial-done", "timeout": 20, "answerOnBridge": True,
         "target": [{"type": "user", "name": "p01", "confirmHook": "/jambonz/seat-answered"}]},
    ]
    gather, dial_ = parse(json.dumps(verbs), "https://ivr.local/jambonz/incoming")
    assert isinstance(gather, twiml.Gather), "a say just before a gather is part of its menu"
    assert gather.action == "https://ivr.local/jambonz/gather?n=1"
    assert gather.finish_on_key == "", "jambonz has no default finish key"
    assert gather.action_on_empty_result, "jambonz posts its actionHook on silence too"
    assert [(p.text, p.language) for p in gather.prompts if isinstance(p, twiml.Say)] == [
        ("您好", "cmn-CN"), ("请按1", "cmn-CN")]
    assert isinstance(dial_, twiml.Dial)
    assert dial_.timeout == 20
    (noun,) = dial_.nouns
    assert (noun.endpoint, noun.events) == ("client:p01", frozenset({"answered"}))
    assert noun.status_callback == "https://ivr.local/jambonz/seat-answered"
    for bad in ("<Response/>", '{"verb": "say"}', '[{"text": "x"}]', '[{"verb": "sing"}]'):
        with pytest.raises(twiml.TwimlError):
            parse(bad, "https://ivr.local/jambonz/incoming")


def test_twilio_parameters_become_jambonz_fields() -> None:
    body = payload({"CallSid": "c1", "From": "+8613800138000", "Digits": "1",
                    "SpeechResult": "着火", "DialCallDuration": "12", "ApiVersion": "2010-04-01"})
    assert body == {"call_sid": "c1", "from": "+8613800138000", "digits": "1",
                    "speech": {"alternatives": [{"transcript": "着火", "confidence": 0.9}]},
                    "dial_call_duration": 12}
    with pytest.raises(ValueError, match="ApiVersion"):
        payload({"ApiVersion": "2010-04-01"}, strict=True)
