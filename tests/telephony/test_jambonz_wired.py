"""jambonz's REST API wired into the service: each call is acted on through its own platform.

``create_app`` builds the jambonz ``CallControl`` from the ``IVR_JAMBONZ_API_*`` settings;
here it talks real HTTP to a jambonz REST endpoint on loopback (``FakeJambonz``), while
Twilio's REST API is the recording double. Calls come in through both phones.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ivr.auth import seat_token
from ivr.core.config import CenterConfig
from ivr.core.engine import EnqueueAction
from ivr.core.numbers import Line
from ivr.settings import Settings
from ivr.telephony.jambonz_rest import JambonzCallControl
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services
from tests.conftest import BASE, ROOT
from tests.specs.lint import rest_findings
from tests.telephony.fake_jambonz import FakeJambonz
from tests.twiml_helpers import dial_target, verbs
from tests.web.conftest import LintedPhone
from tests.web.jambonz_phone import SECRET, JambonzPhone

CALLER = "+8613812345678"
ACCOUNT = "acc-12345"
API_KEY = "jambonz-api-key-for-the-tests"


@pytest.fixture
def settings(redis_url: str, center: str, tmp_path: Path, fake_jambonz: FakeJambonz) -> Settings:
    return Settings(
        redis_url=redis_url, center=center, data_dir=tmp_path, config_dir=ROOT,
        public_base_url=BASE, twilio_auth_token="test-token-123", hold_loop_seconds=10,
        jambonz_webhook_secret=SECRET, jambonz_api_url=fake_jambonz.url + "/v1",
        jambonz_account_sid=ACCOUNT, jambonz_api_key=API_KEY,
    )


@pytest.fixture
def base_config(base_config: CenterConfig) -> CenterConfig:
    """The shipped config with line 12328 placing its calls through jambonz."""
    lines = tuple(line.model_copy(update={"dialect": "jambonz"}) if line.number == "12328"
                  else line for line in base_config.plan.lines)
    return dataclasses.replace(base_config, plan=base_config.plan.model_copy(update={"lines": lines}))


def phones(app_env: dict[str, Any]) -> tuple[JambonzPhone, LintedPhone]:
    return JambonzPhone(app_env["client"], app_env["svc"]), LintedPhone(app_env["client"], app_env["svc"])


async def drained(svc: Services) -> JambonzCallControl:
    control = svc.controls["jambonz"]
    assert isinstance(control, JambonzCallControl), "create_app builds it from the settings"
    await control.drain()
    return control


async def test_waiting_calls_are_pulled_out_through_their_own_platform(
        app_env: dict[str, Any], svc: Services, control: RecordingCallControl,
        fake_jambonz: FakeJambonz, clock: Any) -> None:
    jambonz, twilio = phones(app_env)
    root = await jambonz.twiml("/voice/incoming", CallSid="jb-1", From=CALLER, To="12328")
    assert verbs(root) == ["Say", "Pause", "Redirect"], "the hold loop"
    clock.advance(1)
    await twilio.twiml("/voice/incoming", CallSid="CA2", From=CALLER, To="12328")
    assert (await svc.store().call_info("jb-1"))["dl"] == "jambonz"
    assert (await svc.store().call_info("CA2"))["dl"] == "twilio"

    resp = await jambonz.seat("p01", "login")
    assert resp.json()["state"] == "reserved"
    assert resp.json()["call"]["sid"] == "jb-1"
    await drained(svc)
    assert fake_jambonz.puts() == [(f"/v1/Accounts/{ACCOUNT}/Calls/jb-1", f"{BASE}/jambonz/wait")]
    assert fake_jambonz.requests[0][3] == f"Bearer {API_KEY}"
    assert rest_findings("update", fake_jambonz.requests[0][2]) == []
    assert control.requests == [], "nothing about a jambonz call goes to Twilio"

    resp = await twilio.seat("p02", "login")
    assert resp.json()["call"]["sid"] == "CA2"
    await drained(svc)
    assert control.requests == [("redirect", {"sid": "CA2", "url": f"{BASE}/voice/wait"})]
    assert len(fake_jambonz.puts()) == 1, "and nothing about a Twilio call to jambonz"

    # jambonz fetches new verbs from the call_hook: the caller is put through to the seat
    root = await jambonz.twiml(fake_jambonz.puts()[0][1], CallSid="jb-1")
    assert dial_target(root) == ("Client", "p01")
    root = await twilio.twiml(f"{BASE}/voice/wait", CallSid="CA2")
    assert dial_target(root) == ("Client", "p02")


async def test_queued_callback_for_a_jambonz_line_is_placed_through_jambonz(
        app_env: dict[str, Any], svc: Services, control: RecordingCallControl,
        fake_jambonz: FakeJambonz, clock: Any) -> None:
    jambonz, twilio = phones(app_env)
    await twilio.twiml("/voice/incoming", CallSid="CA1", From=CALLER, To="12328")
    clock.advance(61)
    root = await twilio.twiml("/voice/callback-offer?lang=zh-CN", CallSid="CA1", From=CALLER,
                              Digits="1")
    assert verbs(root) == ["Say", "Hangup"]
    await twilio.twiml("/voice/status", CallSid="CA1", CallStatus="completed")
    await twilio.seat("p01", "login")  # the place in line comes up: call the caller back

    assert control.created() == [], "line 12328 places its calls through jambonz"
    (placed,) = fake_jambonz.posts()
    assert placed["to"] == {"type": "phone", "number": CALLER}
    assert placed["call_hook"]["url"] == f"{BASE}/jambonz/callback-connect?call=CA1"
    assert placed["call_status_hook"]["url"] == f"{BASE}/jambonz/callback-status?call=CA1"
    assert rest_findings("create", placed) == []
    root = await jambonz.twiml(placed["call_hook"]["url"], CallSid="call-7", From="12328",
                               To=CALLER)
    assert dial_target(root) == ("Client", "p01")


async def test_seat_hand_offs_of_a_jambonz_call_go_through_jambonz(
        app_env: dict[str, Any], svc: Services, control: RecordingCallControl,
        fake_jambonz: FakeJambonz) -> None:
    jambonz, _ = phones(app_env)
    await jambonz.seat("p01", "login")
    root = await jambonz.twiml("/voice/incoming", CallSid="jb-1", From=CALLER, To="12328")
    assert dial_target(root) == ("Client", "p01")
    await jambonz.twiml("/voice/seat-answered?call=jb-1&seat=p01", CallSid="leg-1")
    token = seat_token(svc.settings.seat_secret, "p01")
    resp = await app_env["client"].post("/api/seats/p01/transfer", headers={
        "Authorization": f"Bearer {token}"}, json={"target": "electricity", "mode": "warm"})
    assert resp.status_code == 200, resp.text
    await drained(svc)
    (placed,) = fake_jambonz.posts()  # the target is called into the room on jambonz
    assert placed["to"] == {"type": "phone", "number": "95598"}
    assert placed["call_hook"]["url"] == f"{BASE}/jambonz/conference?room=xfer-jb-1"
    assert rest_findings("create", placed) == []
    assert fake_jambonz.puts() == [(f"/v1/Accounts/{ACCOUNT}/Calls/leg-1",
                                    f"{BASE}/jambonz/conference?room=xfer-jb-1&call=jb-1&seat=p01")]
    assert control.requests == []
    root = await jambonz.twiml(fake_jambonz.puts()[0][1], CallSid="leg-1")
    conf = root.find("Dial/Conference")
    assert conf is not None
    assert conf.text == "xfer-jb-1"


async def test_a_call_that_reaches_the_queue_after_a_transfer_keeps_its_dialect(
        app_env: dict[str, Any], svc: Services) -> None:
    acd = svc.store()
    # an IVR transfer recorded before anything else (a flow that starts with one) ...
    await acd.note("jb-5", "transfer", "police", "12345", "138****5678")
    assert "dl" not in await acd.call_info("jb-5")
    # ... that fails: the caller joins the queue, and the call now knows its platform
    line = svc.config.line("12345")
    assert line is not None
    await acd.enqueue("jb-5", "12345", EnqueueAction(line.queue, "any", 0, None), "138****5678",
                      dialect="jambonz")
    assert (await acd.call_info("jb-5"))["dl"] == "jambonz"
    await acd.enqueue("jb-5", "12345", EnqueueAction(line.queue, "any", 0, None), "138****5678",
                      dialect="twilio")  # a repeated webhook changes nothing
    assert (await acd.call_info("jb-5"))["dl"] == "jambonz"


async def test_a_jambonz_call_is_reconciled_with_jambonz(
        app_env: dict[str, Any], svc: Services, control: RecordingCallControl,
        fake_jambonz: FakeJambonz, clock: Any) -> None:
    jambonz, _ = phones(app_env)
    await jambonz.twiml("/voice/incoming", CallSid="jb-9", From=CALLER, To="12345")  # menu
    fake_jambonz.statuses["jb-9"] = "completed"  # its end was never reported to us
    clock.advance(svc.settings.reconcile_after_seconds + 1)
    assert await svc.reconcile() == 1
    assert (await svc.store().call_info("jb-9"))["st"] == "ended"
    assert [r[1] for r in fake_jambonz.requests] == [f"/v1/Accounts/{ACCOUNT}/Calls/jb-9"]
    assert control.requests == []


def test_jambonz_settings_are_checked_for_production() -> None:
    good = dict(env="development", public_base_url="https://h.example", seat_secret="s" * 40)
    partial = Settings(**good, jambonz_api_url="https://jb.example/v1")  # type: ignore[arg-type]
    problems = partial.production_problems()
    assert any("go together" in p for p in problems)
    assert any(p.startswith("IVR_JAMBONZ_API_KEY") for p in problems), "the key is a secret"
    weak = Settings(**good, jambonz_api_url="https://jb.example", jambonz_account_sid="a",  # type: ignore[arg-type]
                    jambonz_api_key="short")
    assert any(p.startswith("IVR_JAMBONZ_API_KEY is under") for p in weak.production_problems())
    bare = Settings(**good, dialect="jambonz")  # type: ignore[arg-type]
    assert sum("IVR_DIALECT is jambonz" in p for p in bare.production_problems()) == 2
    assert not any("JAMBONZ" in p or "DIALECT" in p
                   for p in Settings(**good).production_problems())  # type: ignore[arg-type]
    assert Settings(**good, jambonz_api_url="https://jb.example", jambonz_account_sid="a",  # type: ignore[arg-type]
                    jambonz_api_key=API_KEY).jambonz_rest_enabled
    with pytest.raises(ValidationError):
        Settings(dialect="freeswitch")


def test_a_line_names_only_a_known_dialect(base_config: CenterConfig) -> None:
    line = base_config.line("12328")
    assert line is not None
    assert line.dialect == "jambonz"
    data = line.model_dump()
    with pytest.raises(ValidationError, match="dialect"):
        Line.model_validate({**data, "dialect": "freeswitch"})
    assert Line.model_validate({**data, "dialect": None}).dialect is None
