"""Logging that never shows a caller's number or a token.

Phone numbers are masked (138****5678) however they are written: ``+8613812345678``,
``%2B8613812345678`` (URL-encoded), ``138 1234 5678``, ``138-1234-5678``. Token values in
query strings (``?token=...``) and ``Bearer`` credentials become ``***``. The masking
applies to each record's whole formatted text, traceback included.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# a number: an optional + (or its URL encoding), then 11 to 15 digits, single spaces or
# hyphens (or their URL encodings) allowed between digits; no digit or ASCII letter either
# side (a CallSid's digits stay), while Chinese text around a number does not hide it
# (``\w`` would: to Python every Chinese character is a letter)
_SEP = r"(?:[ \-]|%20|%2[Dd])"
_NUMBER = re.compile(
    rf"(?<![A-Za-z0-9_*%])(\+|%2[Bb])?(\d(?:{_SEP}?\d){{10,14}})(?!{_SEP}?\d)(?![A-Za-z0-9_])")
_SEPS = re.compile(_SEP)
_TOKEN = re.compile(r"(?i)((?:\b|_)(?:token|access_token|secret|signature)(?:=|%3D))[^&\s\"'#]+")
_BEARER = re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}")


def _mask_one(m: re.Match[str]) -> str:
    digits = _SEPS.sub("", m[2])
    return f"{m[1] or ''}{digits[:-8]}****{digits[-4:]}"


def mask_numbers(text: str) -> str:
    """Every phone-number-like run of digits with its middle four digits hidden."""
    return _NUMBER.sub(_mask_one, text)


def mask_secrets(text: str) -> str:
    """``token=...`` values and ``Bearer ...`` credentials replaced by ``***``."""
    return _BEARER.sub(r"\1***", _TOKEN.sub(r"\1***", text))


def mask(text: str) -> str:
    """Numbers and secrets both masked: what every log line goes through."""
    return mask_secrets(mask_numbers(text))


class MaskNumbers(logging.Filter):
    """A filter that masks numbers and tokens in every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the message by its masked form; never drops a record."""
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class MaskingFormatter(logging.Formatter):
    """A formatter whose whole output is masked: message, traceback and stack."""

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, masked."""
        return mask(super().format(record))


def uvicorn_config(level: str) -> dict[str, Any]:
    """A logging config for uvicorn and the service with numbers and tokens masked everywhere."""
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask"],
               "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask": {"()": "ivr.logs.MaskNumbers"}},
        "formatters": {"plain": {"()": "ivr.logs.MaskingFormatter",
                                 "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"default": handler},
        "loggers": {
            "": {"handlers": ["default"], "level": level.upper()},
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": ["default"], "level": level.upper(), "propagate": False},
        },
    }


class _Masked(logging.Formatter):
    """Wraps another formatter (uvicorn's own, say) and masks its whole output."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        """The inner formatter's text, masked."""
        return mask(self.inner.format(record))


def mask_installed_handlers() -> None:
    """Mask what the handlers already installed write (``uvicorn ivr.asgi:app``).

    ``ivr serve`` configures logging with :func:`uvicorn_config`; a plain ``uvicorn``
    command installs its own handlers and formatters, which would print tokens and
    numbers of request lines whole. Their formatters are wrapped so every line (access
    lines and tracebacks too) is masked, whatever format they use.
    """
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler.formatter, (MaskingFormatter, _Masked)):
                handler.setFormatter(_Masked(handler.formatter or logging.Formatter()))
