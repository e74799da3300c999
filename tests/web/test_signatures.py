"""Every request claiming to come from Twilio is signature-checked; 403 changes nothing."""

from __future__ import annotations

from typing import Any

from ivr.web.services import Services
from tests.conftest import BASE, Phone

PARAMS = {"CallSid": "CA1", "From": "+8613812345678", "To": "12328"}


async def _nothing_stored(svc: Services) -> bool:
    return await svc.store().call_info("CA1") == {}


async def test_unsigned_request_is_refused(phone: Phone, svc: Services) -> None:
    resp = await phone.post("/voice/incoming", sign=False, **PARAMS)
    assert resp.status_code == 403
    assert "X-Twilio-Signature" in resp.json()["detail"]
    assert await _nothing_stored(svc)


async def test_wrongly_signed_request_is_refused(phone: Phone, svc: Services) -> None:
    resp = await phone.client.post(f"{BASE}/voice/incoming", data=PARAMS,
                                   headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert resp.status_code == 403
    assert await _nothing_stored(svc)


async def test_signature_with_other_token_is_refused(phone: Phone, svc: Services) -> None:
    from twilio.request_validator import RequestValidator

    sig = RequestValidator("someone-elses-token").compute_signature(f"{BASE}/voice/incoming", PARAMS)
    resp = await phone.client.post(f"{BASE}/voice/incoming", data=PARAMS,
                                   headers={"X-Twilio-Signature": sig})
    assert resp.status_code == 403
    assert await _nothing_stored(svc)


async def test_signature_replayed_to_another_url_is_refused(phone: Phone, svc: Services) -> None:
    sig = svc.checker.sign(f"{BASE}/voice/wait", PARAMS)
    resp = await phone.client.post(f"{BASE}/voice/incoming", data=PARAMS,
                                   headers={"X-Twilio-Signature": sig})
    assert resp.status_code == 403
    assert await _nothing_stored(svc)


async def test_tampered_parameter_is_refused(phone: Phone, svc: Services) -> None:
    sig = svc.checker.sign(f"{BASE}/voice/incoming", PARAMS)
    resp = await phone.client.post(f"{BASE}/voice/incoming", data={**PARAMS, "To": "12366"},
                                   headers={"X-Twilio-Signature": sig})
    assert resp.status_code == 403


async def test_tampered_query_is_refused(phone: Phone, svc: Services) -> None:
    sig = svc.checker.sign(f"{BASE}/voice/dial-done?seat=p01", PARAMS)
    resp = await phone.client.post(f"{BASE}/voice/dial-done?seat=p02", data=PARAMS,
                                   headers={"X-Twilio-Signature": sig})
    assert resp.status_code == 403


async def test_every_voice_route_is_protected(app_env: dict[str, Any], phone: Phone,
                                              svc: Services) -> None:
    routes = [p for p in app_env["app"].openapi()["paths"] if p.startswith("/voice/")]
    assert len(routes) >= 7
    for path in routes:
        resp = await phone.post(path, sign=False, **PARAMS)
        assert resp.status_code == 403, path
    assert await _nothing_stored(svc)
