"""Personal data: caller numbers never reach the logs unmasked."""

from __future__ import annotations

import logging

import pytest

from ivr.core.numbers import mask
from ivr.logs import MaskNumbers, mask_numbers


def test_numbers_are_masked_in_text() -> None:
    assert mask_numbers("call from +8613812345678 to 12345") == "call from +86138****5678 to 12345"
    assert mask_numbers("13812345678 and 010-12345") == "138****5678 and 010-12345"
    assert mask_numbers("CA1234567890abcdef") == "CA1234567890abcdef", "call sids are not numbers"
    assert mask("+8613812345678") == "+86138****5678"


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("ivr.test-mask")
    log.addFilter(MaskNumbers())
    with caplog.at_level(logging.INFO, logger="ivr.test-mask"):
        log.info("callback to %s failed", "+8613912345678")
    assert "+86139****5678" in caplog.text
    assert "13912345678" not in caplog.text
