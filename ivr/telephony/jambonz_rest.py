"""jambonz's REST API as a ``CallControl`` (the same Protocol as Twilio's, in ``rest.py``).

- redirect: ``PUT {base}/v1/Accounts/{account}/Calls/{call_sid}`` with
  ``{"call_hook": {"url": ..., "method": "POST"}}`` -- jambonz fetches new verbs for
  the live call at once (answers 202);
- create_call: ``POST {base}/v1/Accounts/{account}/Calls`` with ``from``, ``to``
  (``{"type": "phone", "number": ...}``, or ``sip``/``user`` by prefix), ``call_hook``
  and ``call_status_hook`` (jambonz requires one when ``call_hook`` is given: without a
  ``status_callback`` the service's status URL given at construction); answers 201
  ``{"sid": ...}``;
- fetch_status: ``GET {base}/v1/Accounts/{account}/Calls/{call_sid}``, whose ``call_status``
  uses Twilio's names for the final states (``completed``, ``failed``, ``busy``,
  ``no-answer``); a call jambonz no longer knows (404) or an unreachable server is None.

Authorisation is ``Bearer <api key>``. A redirect runs in the background, as Twilio's
does, so the webhook that caused it answers at once; a failure is logged and the call
connects at its next hold loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

log = logging.getLogger("ivr.telephony")


def _to(address: str) -> dict[str, str]:
    if address.startswith("sip:"):
        return {"type": "sip", "sipUri": address}
    if address.startswith("client:"):
        return {"type": "user", "name": address.removeprefix("client:")}
    return {"type": "phone", "number": address}


class JambonzCallControl:
    """Redirect live calls and place calls through a jambonz server's REST API."""

    def __init__(self, base_url: str, account_sid: str, api_key: str, status_url: str,
                 client: httpx.AsyncClient | None = None, timeout: float = 5.0) -> None:
        base = base_url.rstrip("/")
        base = base if base.endswith("/v1") else f"{base}/v1"
        self._calls = f"{base}/Accounts/{account_sid}/Calls"
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._status_url = status_url
        self._tasks: set[asyncio.Task[None]] = set()

    async def redirect(self, call_sid: str, url: str) -> None:
        """Redirect in the background, so the webhook that caused it answers at once."""
        task = asyncio.create_task(self._redirect(call_sid, url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _redirect(self, call_sid: str, url: str) -> None:
        try:
            await self.update(call_sid, {"call_hook": {"url": url, "method": "POST"}})
        except (httpx.HTTPError, RuntimeError):  # the hold loop picks the call up anyway
            log.exception("redirect of %s failed; the next hold loop will connect it", call_sid)

    async def update(self, call_sid: str, body: dict[str, Any]) -> None:
        """``PUT`` a change to a live call; RuntimeError names the status on failure."""
        resp = await self._client.put(f"{self._calls}/{call_sid}", json=body, headers=self._headers)
        if resp.status_code not in (200, 202, 204):
            raise RuntimeError(f"jambonz refused the update of {call_sid}: HTTP {resp.status_code}")

    async def create_call(self, to: str, from_: str, url: str,
                          status_callback: str | None = None) -> str:
        """Place a call that runs the verbs at ``url``; returns its sid."""
        body: dict[str, Any] = {
            "from": from_, "to": _to(to), "call_hook": {"url": url, "method": "POST"},
            "call_status_hook": {"url": status_callback or self._status_url, "method": "POST"},
        }
        resp = await self._client.post(self._calls, json=body, headers=self._headers)
        if resp.status_code != 201:
            raise RuntimeError(f"jambonz refused the call to {to}: HTTP {resp.status_code}")
        return str(resp.json()["sid"])

    async def fetch_status(self, call_sid: str) -> str | None:
        """The call's status as jambonz knows it; None when jambonz cannot say."""
        try:
            resp = await self._client.get(f"{self._calls}/{call_sid}", headers=self._headers)
            status = resp.json().get("call_status") if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            log.warning("could not fetch the status of call %s from jambonz", call_sid)
            return None
        return str(status) if isinstance(status, str) else None

    async def drain(self) -> None:
        """Wait for redirects still under way (at shutdown, and in tests)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Finish pending redirects and close the HTTP client."""
        await self.drain()
        await self._client.aclose()
