"""How the simulated Twilio and the simulated softphones reach the service.

Two transports send the same HTTP requests:

- :class:`HttpxTransport`: an ``httpx.AsyncClient``, either over the network (``--url``)
  or in process through ``httpx.ASGITransport``;
- :class:`AsgiTransport`: calls the ASGI app directly with a prepared scope, skipping
  httpx (the simulator's fast path; routing, form parsing and the signature check
  still run in the app).

:class:`Twilio` signs every webhook with ``twilio.request_validator.RequestValidator``
as Twilio does (``ivr.phone.jambonz.Jambonz`` is the other :class:`Platform`);
:class:`SeatApi` calls the seat API with a seat's bearer token.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx
from twilio.request_validator import RequestValidator

from ivr.auth import seat_token
from ivr.phone import twiml
from ivr.telephony.signature import SignatureChecker


# A simulated day sends tens of thousands of forms whose names and most values repeat
# (account, call sid, numbers, statuses): each distinct field is quoted once.
@functools.lru_cache(maxsize=1 << 16)
def _field(name: str, value: str) -> str:
    return quote_plus(name) + "=" + quote_plus(value)


def form_body(form: dict[str, str]) -> bytes:
    """The urlencoded body of ``form``: ``urllib.parse.urlencode(form)``, fields memoised."""
    return "&".join([_field(k, v if isinstance(v, str) else str(v))
                     for k, v in form.items()]).encode()


class Target(NamedTuple):
    """The parts of a URL a request needs: ``urlsplit``'s, the port resolved."""

    scheme: str
    netloc: str
    path: str
    query: str
    hostname: str
    port: int


def _target(url: str) -> Target:
    parts = urlsplit(url)
    return Target(parts.scheme, parts.netloc, parts.path, parts.query, parts.hostname or "",
                  parts.port or (443 if parts.scheme == "https" else 80))


_head = functools.lru_cache(maxsize=1 << 12)(_target)  # a URL up to its query, split once


def split_url(url: str) -> Target:
    """``urlsplit(url)``'s scheme, netloc, path and query, with the host and port.

    The part before the query repeats request after request (the service's few paths):
    it is split once. A URL with a fragment, tabs or line breaks, or leading control
    characters or spaces (which ``urlsplit`` drops) is split whole each time.
    """
    head, _, query = url.partition("?")
    if "#" in url or "\t" in url or "\r" in url or "\n" in url or url[:1] <= " ":
        return _target(url)
    return _head(head)._replace(query=query)


def twilio_signature(key: bytes, url: str, params: dict[str, str]) -> str:
    """``RequestValidator(token).compute_signature(url, params)`` for one-valued params.

    The service's own signing (:class:`ivr.telephony.signature.SignatureChecker`), one
    per auth token; ``key`` is the token's UTF-8 bytes.
    """
    return _signer(key).compute(url, params)


@functools.lru_cache(maxsize=16)
def _signer(key: bytes) -> SignatureChecker:
    return SignatureChecker(key.decode("utf-8"), None)


@dataclass(frozen=True)
class Reply:
    """What the service answered."""

    status: int
    text: str
    content_type: str = ""


class Transport(Protocol):
    """Sends one HTTP request to the service."""

    async def request(self, method: str, url: str, form: dict[str, str] | None,
                      headers: dict[str, str], content: bytes | None = None) -> Reply:
        """Send a request (a urlencoded form body when ``form`` is given, else ``content``)."""
        ...


class Platform(Protocol):
    """The telephony platform a simulated call runs on (Twilio, or jambonz in ``jambonz.py``)."""

    dialect: str
    prefix: str  # the service's webhook path prefix for it: /voice or /jambonz

    async def post(self, url: str, params: dict[str, str], method: str = "POST") -> Reply:
        """Send a webhook with the call's parameters (Twilio's names), signed."""
        ...

    def parse(self, text: str, doc_url: str) -> list[twiml.Verb]:
        """The service's answer as the verbs to play."""
        ...


class HttpxTransport:
    """Requests through an ``httpx.AsyncClient`` (network or ASGITransport)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def request(self, method: str, url: str, form: dict[str, str] | None,
                      headers: dict[str, str], content: bytes | None = None) -> Reply:
        """Send the request and read the whole answer."""
        resp = await self.client.request(method, url, data=form, content=content, headers=headers)
        return Reply(resp.status_code, resp.text, resp.headers.get("content-type", ""))


class AsgiTransport:
    """Requests handed straight to an ASGI app: no sockets, no httpx."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def request(self, method: str, url: str, form: dict[str, str] | None,
                      headers: dict[str, str], content: bytes | None = None) -> Reply:
        """Run the app on one request; an exception inside the app becomes a 500."""
        parts = split_url(url)
        body = form_body(form) if form is not None else content or b""
        raw = [(b"host", (parts.netloc or "localhost").encode()),
               (b"content-length", str(len(body)).encode())]
        if form is not None:
            raw.append((b"content-type", b"application/x-www-form-urlencoded"))
        raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        path = parts.path or "/"
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": parts.scheme or "http", "path": path,
            "raw_path": path.encode(), "query_string": parts.query.encode(),
            "root_path": "", "headers": raw, "client": ("127.0.0.1", 50000),
            "server": (parts.hostname or "localhost", parts.port),
            "state": {},
        }
        sent = False
        status, ctype, chunks = 500, "", []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, ctype
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    if k.lower() == b"content-type":
                        ctype = v.decode()
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, send)
        except Exception as exc:  # the server would have answered 500
            return Reply(500, f"{type(exc).__name__}: {exc}", "text/plain")
        return Reply(status, b"".join(chunks).decode("utf-8", "replace"), ctype)


class CountingTransport:
    """Counts the requests sent through another transport, and the seconds they took."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.count = 0
        self.seconds = 0.0

    async def request(self, method: str, url: str, form: dict[str, str] | None,
                      headers: dict[str, str], content: bytes | None = None) -> Reply:
        """Send through the inner transport."""
        self.count += 1
        start = time.perf_counter()
        try:
            return await self.inner.request(method, url, form, headers, content)
        finally:
            self.seconds += time.perf_counter() - start


class InspectingTransport:
    """Hands every request's URL and the service's reply to ``inspect`` (a test's lint)."""

    def __init__(self, inner: Transport, inspect: Callable[[str, Reply], None]) -> None:
        self.inner = inner
        self.inspect = inspect

    async def request(self, method: str, url: str, form: dict[str, str] | None,
                      headers: dict[str, str], content: bytes | None = None) -> Reply:
        """Send through the inner transport, then show the reply."""
        reply = await self.inner.request(method, url, form, headers, content)
        self.inspect(url, reply)
        return reply


class Twilio:
    """Posts webhooks as Twilio does, each signed with the account's auth token."""

    dialect = "twilio"
    prefix = "/voice"

    def __init__(self, transport: Transport, auth_token: str) -> None:
        self.transport = transport
        self.validator = RequestValidator(auth_token)
        self.key = auth_token.encode("utf-8")
        self._shapes = twiml.Shapes()

    async def post(self, url: str, params: dict[str, str], method: str = "POST") -> Reply:
        """Send a signed webhook (GET puts the parameters in the query string)."""
        if method.upper() == "GET":
            sep = "&" if urlsplit(url).query else "?"
            full = f"{url}{sep}{urlencode(params)}" if params else url
            sig = twilio_signature(self.key, full, {})
            return await self.transport.request("GET", full, None, {"X-Twilio-Signature": sig})
        sig = twilio_signature(self.key, url, params)
        return await self.transport.request("POST", url, params, {"X-Twilio-Signature": sig})

    def parse(self, text: str, doc_url: str) -> list[twiml.Verb]:
        """TwiML as call verbs (a document, or its shape, seen before is not parsed again)."""
        return self._shapes.parse(text, doc_url)


class SeatApi:
    """The seat API as a softphone uses it, with the seat's bearer token."""

    def __init__(self, transport: Transport, base_url: str, seat_secret: str) -> None:
        self.transport = transport
        self.base = base_url.rstrip("/")
        self.secret = seat_secret

    def _headers(self, seat: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {seat_token(self.secret, seat)}"}

    async def act(self, seat: str, action: str) -> Reply:
        """Log in, go ready, take a break or log out."""
        return await self.transport.request("POST", f"{self.base}/api/seats/{seat}/{action}",
                                            None, self._headers(seat))

    async def state(self, seat: str) -> Reply:
        """The seat's state and current call."""
        return await self.transport.request("GET", f"{self.base}/api/seats/{seat}", None,
                                            self._headers(seat))
