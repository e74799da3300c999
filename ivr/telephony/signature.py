"""Check ``X-Twilio-Signature``: Twilio's algorithm, with ``RequestValidator`` as the reference.

The webhooks are the hot path, so the common case is computed here in a few lines of
``hmac``: HMAC-SHA1 with the auth token over the URL followed by each parameter name and
value, names sorted, each name's distinct values sorted, base64-encoded, exactly as
``twilio.request_validator.RequestValidator.compute_signature`` does (a test compares the
two over random URLs and parameters). Only a signature that does not match the exact public
URL goes on to ``RequestValidator.validate``, which also tries the URL with and without
its port. ``form_pairs`` parses a form body as ``urllib.parse.parse_qsl`` does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import unquote

from twilio.request_validator import RequestValidator


def form_pairs(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True)``, without unquoting what has nothing to unquote."""
    pairs: list[tuple[str, str]] = []
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "+" in part or "%" in part:
            name = unquote(name.replace("+", " "), errors="replace")
            value = unquote(value.replace("+", " "), errors="replace")
        pairs.append((name, value))
    return pairs


def _pairs(params: Mapping[str, str] | Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """Parameters as (name, value) pairs, a name with several values once per value."""
    return [(name, value) for name, values in params.items()
            for value in ([values] if isinstance(values, str) else values)]


class _Multi(dict[str, list[str]]):
    """Form parameters with repeated names, as RequestValidator reads them (``getall``)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


class SignatureChecker:
    """Validates Twilio's signature against the public URL the request was sent to."""

    def __init__(self, auth_token: str, public_base_url: str | None, enabled: bool = True) -> None:
        self._validator = RequestValidator(auth_token)
        # the keyed state set up once; each signature starts from a copy of it (cheaper than
        # hmac.digest(key, text, "sha1"), which looks the digest up by name every call)
        self._mac = hmac.new(auth_token.encode("utf-8"), digestmod=hashlib.sha1)
        self._base = public_base_url.rstrip("/") if public_base_url else None
        self.enabled = enabled

    def public_url(self, request_url: str | Callable[[], str], path_qs: str) -> str:
        """The URL Twilio signed: the public base URL (behind a proxy) plus path and query.

        ``request_url`` (the URL as this server saw it, or a function giving it) serves
        when no public base URL is configured.
        """
        if self._base:
            return f"{self._base}{path_qs}"
        return request_url if isinstance(request_url, str) else request_url()

    def compute(self, url: str, params: Mapping[str, str] | Mapping[str, list[str]]) -> str:
        """Twilio's signature of ``url`` and ``params`` (``RequestValidator.compute_signature``)."""
        return self.compute_pairs(url, _pairs(params))

    def compute_pairs(self, url: str, pairs: Iterable[tuple[str, str]]) -> str:
        """Twilio's signature of ``url`` and the form's (name, value) pairs, in any order.

        Names sorted, each name's distinct values sorted: the distinct pairs, sorted.
        """
        text = url + "".join([name + value for name, value in sorted(set(pairs))])
        mac = self._mac.copy()
        mac.update(text.encode("utf-8"))
        return base64.b64encode(mac.digest()).decode("ascii")

    def valid(self, url: str, params: dict[str, str] | dict[str, list[str]],
              signature: str | None) -> bool:
        """Whether ``signature`` is Twilio's for this URL and POST parameters."""
        return self.valid_pairs(url, _pairs(params), signature)

    def valid_pairs(self, url: str, pairs: list[tuple[str, str]], signature: str | None) -> bool:
        """Whether ``signature`` is Twilio's for this URL and the form's (name, value) pairs.

        One HMAC over the exact public URL first (the common case, cheap); only when that
        fails does Twilio's own ``validate`` try its URL variants (ports) as well.
        """
        if not self.enabled:
            return True
        if not signature:
            return False
        if hmac.compare_digest(self.compute_pairs(url, pairs).encode(), signature.encode("utf-8")):
            return True
        multi = _Multi()
        for name, value in pairs:
            multi.setdefault(name, []).append(value)
        return bool(self._validator.validate(url, multi, signature))

    def sign(self, url: str, params: dict[str, str]) -> str:
        """The signature Twilio would send (for tests and the call simulator)."""
        return str(self._validator.compute_signature(url, params))
