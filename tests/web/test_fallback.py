"""The fallback webhooks answer the apology and the backup line without any Redis.

The app is built but its lifespan never runs, so no Redis client exists at all: any
handler that touched the store would fail (503), not answer the apology.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ivr.app import create_app
from ivr.core.waiting import APOLOGY
from ivr.settings import Settings
from ivr.telephony.jambonz_hooks import sign
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services
from tests.conftest import BASE, ROOT
from tests.specs.lint import jambonz_findings, twiml_findings

SECRET = "jambonz-webhook-secret-for-tests"
BACKUP = "+8657188888888"
CALL = {"CallSid": "CA1", "From": "+8613812345678", "To": "12345", "ErrorCode": "11200"}


def _settings(tmp_path: Path, secret: str = SECRET) -> Settings:
    # a Redis URL nobody listens on: the fallback must not need it
    return Settings(redis_url="redis://127.0.0.1:1/0", data_dir=tmp_path, config_dir=ROOT,
                    public_base_url=BASE, twilio_auth_token="test-token-123",
                    backup_number=BACKUP, jambonz_webhook_secret=secret)


async def _client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    app = create_app(settings, call_control=RecordingCallControl(), sweeper=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c, app.state.services


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    async for pair in _client(_settings(tmp_path)):
        yield pair


async def _twilio(client: httpx.AsyncClient, svc: Services, **params: str) -> httpx.Response:
    url = f"{BASE}/voice/fallback"
    return await client.post(url, data=params,
                             headers={"X-Twilio-Signature": svc.checker.sign(url, params)})


async def _jambonz(client: httpx.AsyncClient, payload: dict[str, object],
                   secret: str = SECRET) -> httpx.Response:
    body = json.dumps(payload).encode()
    return await client.post(f"{BASE}/jambonz/fallback", content=body, headers={
        "Content-Type": "application/json", "Jambonz-Signature": sign(secret, body, int(time.time()))})


async def test_twilio_fallback_apologises_and_dials_the_backup(
        client: tuple[httpx.AsyncClient, Services]) -> None:
    c, svc = client
    assert svc.acd is None  # no Redis at all
    resp = await _twilio(c, svc, **CALL)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/xml")
    assert twiml_findings(resp.text) == []
    root = ET.fromstring(resp.text)
    assert [el.tag for el in root] == ["Say", "Dial"]
    assert root[0].text == APOLOGY["zh-CN"]
    dial = root[1]
    assert dial.get("action") == f"{BASE}/voice/fallback"
    assert dial.get("timeout")
    assert dial.text == BACKUP


async def test_twilio_fallback_hangs_up_after_the_backup_dial(
        client: tuple[httpx.AsyncClient, Services]) -> None:
    c, svc = client
    resp = await _twilio(c, svc, **CALL, DialCallStatus="no-answer")
    assert resp.status_code == 200
    assert twiml_findings(resp.text) == []
    assert [el.tag for el in ET.fromstring(resp.text)] == ["Hangup"]


async def test_unsigned_fallback_is_refused(client: tuple[httpx.AsyncClient, Services]) -> None:
    c, _ = client
    assert (await c.post(f"{BASE}/voice/fallback", data=CALL)).status_code == 403
    body = json.dumps({"call_sid": "x"}).encode()
    resp = await c.post(f"{BASE}/jambonz/fallback", content=body,
                        headers={"Content-Type": "application/json"})
    assert resp.status_code == 403
    assert (await _jambonz(c, {"call_sid": "x"}, secret="someone-elses")).status_code == 403


async def test_jambonz_fallback_apologises_and_dials_the_backup(
        client: tuple[httpx.AsyncClient, Services]) -> None:
    c, _ = client
    resp = await _jambonz(c, {"call_sid": "abc", "from": "+8613812345678", "to": "12345",
                              "call_status": "in-progress", "direction": "inbound"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    verbs = resp.json()
    assert jambonz_findings(verbs) == []
    assert [v["verb"] for v in verbs] == ["say", "dial"]
    assert APOLOGY["zh-CN"] in json.dumps(verbs, ensure_ascii=False)
    assert verbs[1]["actionHook"] == f"{BASE}/jambonz/fallback"
    assert BACKUP in json.dumps(verbs[1]["target"])
    done = await _jambonz(c, {"call_sid": "abc", "dial_call_status": "failed"})
    assert [v["verb"] for v in done.json()] == ["hangup"]
    assert jambonz_findings(done.json()) == []


async def test_jambonz_fallback_without_a_secret_refuses_everything(tmp_path: Path) -> None:
    async for c, _ in _client(_settings(tmp_path, secret="")):
        assert (await _jambonz(c, {"call_sid": "abc"}, secret="")).status_code == 403
