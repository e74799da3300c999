from __future__ import annotations

from pathlib import Path

import pytest

from ivr.phone.service import scratch_settings
from ivr.settings import Settings
from ivr.sim.cli import SIM_RETENTION_SECONDS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim_settings(redis_url: str) -> Settings:
    """Settings for a simulation on a scratch center of the test Redis."""
    base = Settings(redis_url=redis_url, config_dir=ROOT, twilio_auth_token="test-token-123")
    return scratch_settings(base, redis_url, "tsim").model_copy(
        update={"call_retention_seconds": SIM_RETENTION_SECONDS})
