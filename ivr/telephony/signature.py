"""Check ``X-Twilio-Signature`` with ``twilio.request_validator.RequestValidator``."""

from __future__ import annotations

import hmac

from twilio.request_validator import RequestValidator


class _Multi(dict[str, list[str]]):
    """Form parameters with repeated names, as RequestValidator reads them (``getall``)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


class SignatureChecker:
    """Validates Twilio's signature against the public URL the request was sent to."""

    def __init__(self, auth_token: str, public_base_url: str | None, enabled: bool = True) -> None:
        self._validator = RequestValidator(auth_token)
        self._base = public_base_url.rstrip("/") if public_base_url else None
        self.enabled = enabled

    def public_url(self, request_url: str, path_qs: str) -> str:
        """The URL Twilio signed: the public base URL (behind a proxy) plus path and query."""
        return f"{self._base}{path_qs}" if self._base else request_url

    def valid(self, url: str, params: dict[str, str] | dict[str, list[str]],
              signature: str | None) -> bool:
        """Whether ``signature`` is Twilio's for this URL and POST parameters.

        One HMAC over the exact public URL first (the common case, cheap); only when that
        fails does Twilio's own ``validate`` try its URL variants (ports) as well.
        """
        if not self.enabled:
            return True
        if not signature:
            return False
        multi = _Multi({k: v if isinstance(v, list) else [v] for k, v in params.items()})
        if hmac.compare_digest(self._validator.compute_signature(url, multi), signature):
            return True
        return bool(self._validator.validate(url, multi, signature))

    def sign(self, url: str, params: dict[str, str]) -> str:
        """The signature Twilio would send (for tests and the call simulator)."""
        return str(self._validator.compute_signature(url, params))
