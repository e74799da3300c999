"""Phones for the web tests: every answer is linted; journeys run in both dialects.

``phone`` here wraps the Twilio phone so every TwiML answer must pass the lint (Twilio's
published values, zero findings). ``dialect_phone`` is the Twilio phone or the jambonz one
(``tests.web.jambonz_phone``); a journey module uses it as its ``phone`` to run twice.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest

from ivr.settings import Settings
from tests.conftest import BASE, ROOT, Phone
from tests.specs.lint import twiml_findings
from tests.web.jambonz_phone import SECRET, JambonzPhone


class LintedPhone(Phone):
    """The Twilio phone whose every TwiML answer passes the lint."""

    dialect = "twilio"

    async def twiml(self, url: str, **params: str) -> ET.Element:
        resp = await self.post(url, True, **params)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("application/xml")
        assert twiml_findings(resp.text) == [], resp.text
        root = ET.fromstring(resp.text)
        assert root.tag == "Response"
        return root


@pytest.fixture
def settings(redis_url: str, center: str, tmp_path: Path) -> Settings:
    return Settings(
        redis_url=redis_url, center=center, data_dir=tmp_path, config_dir=ROOT,
        public_base_url=BASE, twilio_auth_token="test-token-123", hold_loop_seconds=10,
        jambonz_webhook_secret=SECRET,
    )


@pytest.fixture
def phone(app_env: dict[str, Any]) -> Phone:
    client: httpx.AsyncClient = app_env["client"]
    return LintedPhone(client, app_env["svc"])


@pytest.fixture(params=["twilio", "jambonz"])
def dialect_phone(request: pytest.FixtureRequest, app_env: dict[str, Any]) -> Any:
    client: httpx.AsyncClient = app_env["client"]
    if request.param == "jambonz":
        return JambonzPhone(client, app_env["svc"])
    return LintedPhone(client, app_env["svc"])
