"""Every voice webhook answers valid TwiML on any input, internal errors and Redis outages."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

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
        resp = await phone.post(path, True, **odd)
        assert resp.status_code == 200, (path, resp.text)
        ET.fromstring(resp.text)
    assert svc.store() is not None


async def test_gather_for_a_vanished_node_restarts_the_flow(phone: Phone) -> None:
    root = await phone.twiml("/voice/gather?ln=12345&f=entry-12345&r=1&n=gone&t=0", CallSid="CA9")
    assert verbs(root)[0] == "Gather"


async def test_redis_outage_gives_apology_and_backup_dial(
        tmp_path: Path, base_config: CenterConfig) -> None:
    settings = Settings(redis_url="redis://127.0.0.1:1/0", center="down", public_base_url=BASE,
                        twilio_auth_token="t", backup_number="+861088888888",
                        redis_timeout_seconds=0.2, data_dir=tmp_path)
    app = create_app(settings, clock=ManualClock(), config=base_config, sweeper=False)
    async with app.router.lifespan_context(app):
        svc: Services = app.state.services
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
            for path, status in [("/voice/incoming", ""), ("/voice/wait", ""),
                                 ("/voice/dial-done?seat=p01", "no-answer"),
                                 ("/voice/dial-done?seat=p01", "completed")]:
                params = {"CallSid": "CA1", "From": "+8613800000000", "To": "12328",
                          "DialCallStatus": status}
                sig = svc.checker.sign(BASE + path, params)
                resp = await c.post(path, data=params, headers={"X-Twilio-Signature": sig})
                assert resp.status_code == 200
                root = ET.fromstring(resp.text)
                if status == "completed":  # the talk is over: goodbye, not the backup number
                    assert verbs(root) == ["Say", "Hangup"], path
                    continue
                assert verbs(root) == ["Say", "Dial"], path
                assert (root.find("Dial").text or "") == "+861088888888"  # type: ignore[union-attr]
            kept = [e for f in (tmp_path / "journal").glob("*.jsonl") for e in f.read_text().splitlines()]
            assert [json.loads(e)["op"] for e in kept] == ["dial_done", "dial_done"], \
                "both call events are kept for when Redis is back"
            health = await c.get("/healthz")
            assert health.status_code == 503
            assert health.json()["redis"] is False
            from ivr.auth import seat_token

            token = seat_token(settings.seat_secret, "p01")
            seat = await c.post("/api/seats/p01/login", headers={"Authorization": f"Bearer {token}"})
            assert seat.status_code == 503
            assert "Redis" in seat.json()["detail"]
            audit = await c.get("/api/audit", headers={"Authorization": "Bearer dev-admin-token"})
            assert audit.status_code == 503
            lines = await c.get("/api/lines", headers={"Authorization": "Bearer dev-admin-token"})
            assert lines.status_code == 200, "config reads come from memory and still work"


async def test_repeated_calls_from_one_number_are_limited(phone: Phone, svc: Services,
                                                          clock: ManualClock) -> None:
    limit = svc.settings.rate_limit_calls
    for i in range(limit):
        root = await phone.twiml("/voice/incoming", CallSid=f"CA{i}", From="+8613700000000", To="12328")
        assert verbs(root)[-1] == "Redirect", "within the limit: queued"
    root = await phone.twiml("/voice/incoming", CallSid="CAx", From="+8613700000000", To="12328")
    assert verbs(root) == ["Say", "Hangup"]
    assert "频繁" in (root.find("Say").text or "")  # type: ignore[union-attr]
    c = await svc.store().call_info("CAx")
    assert (c["st"], c["out"]) == ("ended", "rate_limited")
    other = await phone.twiml("/voice/incoming", CallSid="CAy", From="+8613700000001", To="12328")
    assert verbs(other)[-1] == "Redirect", "another number is not limited"
    clock.advance(svc.settings.rate_limit_window_seconds + 1)
    again = await phone.twiml("/voice/incoming", CallSid="CAz", From="+8613700000000", To="12345")
    assert verbs(again)[0] == "Gather", "the window has passed"
    keys = [k async for k in svc.store().redis.scan_iter(match=svc.store().keys.pattern())]
    assert not any("13700000000" in k for k in keys), "the number itself is never a key"
