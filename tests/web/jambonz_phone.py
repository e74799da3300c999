"""Plays jambonz's part in tests: signed JSON posts to /jambonz/..., verb arrays back.

Every answer is checked with ``@jambonz/verb-specifications`` (``jambonz_findings``, zero
findings) and then shown to the test as the TwiML-shaped tree the Twilio phone returns,
so one journey test reads both dialects. The payloads and the view are those of the
phone that ``ivr call --dialect jambonz`` plays (``ivr.phone.jambonz``: one translation),
with our /jambonz/ URLs shown as /voice/.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from typing import Any

import httpx

from ivr.auth import seat_token
from ivr.phone.jambonz import payload
from ivr.phone.jambonz import view as phone_view
from ivr.telephony.jambonz_hooks import sign as jambonz_sign
from ivr.web.services import Services
from tests.specs.lint import jambonz_findings

SECRET = "jambonz-webhook-secret-for-tests"
BASE = "https://ivr.test"


def _view_url(url: str) -> str:
    return url.replace("/jambonz/", "/voice/", 1)


def view(verbs: list[dict[str, Any]]) -> ET.Element:
    """The verb array as the TwiML-shaped tree the journey tests read (/jambonz/ as /voice/)."""
    return phone_view(verbs, _view_url)


class JambonzPhone:
    """The jambonz twin of ``tests.conftest.Phone`` (same methods, same view of answers)."""

    dialect = "jambonz"

    def __init__(self, client: httpx.AsyncClient, svc: Services, secret: str = SECRET) -> None:
        self.client = client
        self.svc = svc
        self.secret = secret

    async def post(self, url: str, sign: bool = True, **params: str) -> httpx.Response:
        """POST ``params`` as jambonz's JSON to the /jambonz/ twin of ``url``."""
        full = url if url.startswith("http") else BASE + url
        full = full.replace("/voice/", "/jambonz/", 1)
        body = json.dumps(payload(params, strict=True)).encode()
        headers = {"Content-Type": "application/json"}
        if sign:
            headers["Jambonz-Signature"] = jambonz_sign(self.secret, body, int(time.time()))
        return await self.client.post(full, content=body, headers=headers)

    async def twiml(self, url: str, **params: str) -> ET.Element:
        """The answer's verbs, linted against the verb specifications, as a TwiML-shaped tree."""
        resp = await self.post(url, True, **params)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("application/json")
        verbs = resp.json()
        assert isinstance(verbs, list)
        if verbs:
            assert jambonz_findings(verbs) == [], verbs
        return view(verbs)

    async def seat(self, seat: str, action: str) -> httpx.Response:
        """A seat's softphone action (the seat API does not depend on the dialect)."""
        token = seat_token(self.svc.settings.seat_secret, seat)
        return await self.client.post(
            f"{BASE}/api/seats/{seat}/{action}", headers={"Authorization": f"Bearer {token}"})
