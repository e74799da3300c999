"""Logging that never shows a caller's number: phone numbers are masked (138****5678)."""

from __future__ import annotations

import logging
import re
from typing import Any

_NUMBER = re.compile(r"(?<![\w*])(\+?\d{3,7})(\d{4})(\d{4})(?!\d)")


def mask_numbers(text: str) -> str:
    """Every phone-number-like run of digits with its middle four digits hidden."""
    return _NUMBER.sub(lambda m: f"{m[1]}****{m[3]}", text)


class MaskNumbers(logging.Filter):
    """A filter that masks phone numbers in every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the message by its masked form; never drops a record."""
        message = record.getMessage()
        masked = mask_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def uvicorn_config(level: str) -> dict[str, Any]:
    """A logging config for uvicorn and the service with numbers masked everywhere."""
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask"],
               "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask": {"()": "ivr.logs.MaskNumbers"}},
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"default": handler},
        "loggers": {
            "": {"handlers": ["default"], "level": level.upper()},
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": ["default"], "level": level.upper(), "propagate": False},
        },
    }
