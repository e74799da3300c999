"""Every voice webhook answers valid TwiML on any input, internal errors and Redis outages."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx

from ivr.app import create_app
from ivr.clock import ManualClock
from ivr.core.config import CenterConfig
from ivr.settings import Settings
from ivr.web.services import Services
from tests.conftest import BASE, Phone
from tests.twiml_helpers import verbs

VOICE = ["/voice/incoming", "/voice/gather?ln=12345&f=entry-12345&r=1&n=emergency&t=0",
         "/voice/wait", "/voice/seat-answered?call=CA1&seat=p01", "/voice/dial-done?seat=p01",
         "/voice/transfer-done?target=police&ln=12345", "/voice/status"]


async def test_missing_parameters_still_get_twiml(phone: Phone) -> None:
    for path in VOICE:
        root = await phone.twiml(path)  # no CallSid, no To, nothing
        assert root.tag == "Response", path


async def test_garbage_parameters_still_get_twiml(phone: Phone, svc: Services) -> None:
    odd = {"CallSid": "CA" + "x" * 500, "To": "☎️💥", "From": "", "Digits": "####",
           "SpeechResult": "\x00\x01", "DialCallStatus": "???", "DialCallDuration": "NaN-ish",
           "CallStatus": "weird"}
    for path in [*VOICE, "/voice/gather?ln=nope&f=nope&r=abc&n=x&t=1"]:
        resp = await phone.post(path, **odd)
        assert resp.status_code == 200, (path, resp.text)
        ET.fromstring(resp.text)
    assert svc.store() is not None


async def test_gather_for_a_vanished_node_restarts_the_flow(phone: Phone) -> None:
    root = await phone.twiml("/voice/gather?ln=12345&f=entry-12345&r=1&n=gone&t=0", CallSid="CA9")
    assert verbs(root)[0] == "Gather"


async def test_redis_outage_gives_apology_and_backup_dial(
        tmp_path: object, base_config: CenterConfig) -> None:
    settings = Settings(redis_url="redis://127.0.0.1:1/0", center="down", public_base_url=BASE,
                        twilio_auth_token="t", backup_number="+861088888888",
                        redis_timeout_seconds=0.2)
    app = create_app(settings, clock=ManualClock(), config=base_config, sweeper=False)
    async with app.router.lifespan_context(app):
        svc: Services = app.state.services
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
            for path in ["/voice/incoming", "/voice/wait", "/voice/dial-done?seat=p01"]:
                params = {"CallSid": "CA1", "From": "+8613800000000", "To": "12328",
                          "DialCallStatus": "completed"}
                sig = svc.checker.sign(BASE + path, params)
                resp = await c.post(path, data=params, headers={"X-Twilio-Signature": sig})
                assert resp.status_code == 200
                root = ET.fromstring(resp.text)
                assert verbs(root) == ["Say", "Dial"], path
                assert (root.find("Dial").text or "") == "+861088888888"  # type: ignore[union-attr]
            health = await c.get("/healthz")
            assert health.status_code == 503 and health.json()["redis"] is False
