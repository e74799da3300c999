"""Fixtures of the security tests: the real service started as documented (``ivr serve``).

``IvrServe`` runs ``ivr serve`` (uvicorn with the service's own logging config, the one
that masks numbers and tokens) on a free loopback port, with IVR_* settings of the test's
own on the test Redis, its stderr kept in a file; it is stopped by its own pid.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from ivr.store.keys import Keys
from tests.faults.servers import ROOT, ProcessError, free_port, stop_process

IVR = str(Path(sys.executable).with_name("ivr"))
# secrets of the right shape for production (never the development defaults)
PROD_SECRETS = {
    "IVR_SEAT_SECRET": "s3at-Secret-7Qx9Lm2Vb4Nc8Kd1Pf6Hg0Jr",
    "IVR_TWILIO_AUTH_TOKEN": "0f3a9c7e1b2d4f6a8c0e2b4d6f8a1c3e",  # 32 hex, like Twilio's
    "IVR_ADMIN_TOKEN": "adm1n-Tok3n-ZqX8wV7uT6sR5qP4oN3mL2k",
    "IVR_MONITOR_TOKEN": "m0nitor-Tok3n-AbCdEfGhIjKlMnOpQrStU",
    "IVR_METRICS_TOKEN": "scrape-Tok3n-9f8e7d6c5b4a3210fedcba",
}
PROD = {**PROD_SECRETS, "IVR_ENV": "production", "IVR_CALLBACK_FROM": "+8657112345678",
        "IVR_BACKUP_NUMBER": "+8657112345000", "IVR_PUBLIC_BASE_URL": "https://ivr.example.gov.cn"}


def clean_env(**settings: str) -> dict[str, str]:
    """Our environment without any IVR_* variable, plus these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update(settings)
    return env


class IvrServe:
    """``ivr serve`` (optionally ``--demo``) on a free loopback port."""

    def __init__(self, env: dict[str, str], logdir: Path, *, demo: bool = False) -> None:
        self.port = free_port()
        self.env = {**env, "IVR_PORT": str(self.port), "IVR_HOST": "127.0.0.1"}
        self.demo = demo
        self.log_path = logdir / f"ivr-serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        """The service's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> IvrServe:
        """Start the process without waiting for it."""
        argv = [IVR, "serve", *(["--demo"] if self.demo else [])]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                         stderr=log, start_new_session=True)
        return self

    def start(self, timeout: float = 40) -> IvrServe:
        """Start and wait until /healthz answers 200."""
        self.launch()
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ProcessError(f"ivr serve exited: {self.log()[-3000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ProcessError(f"ivr serve did not become healthy: {self.log()[-3000:]}")

    def log(self) -> str:
        """Everything the service wrote to stderr so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def high_water_bytes(self) -> int:
        """The process's peak resident memory (VmHWM)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise ProcessError("no VmHWM")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        if self.proc is not None:
            stop_process(self.proc, timeout=15)


@pytest.fixture
def center() -> str:
    return "tsec" + uuid.uuid4().hex[:8]


@pytest.fixture
def service_settings(redis_url: str, center: str, tmp_path: Path) -> dict[str, str]:
    """IVR_* settings of a service on the test Redis (or the embedded one's socket)."""
    return {"IVR_REDIS_URL": redis_url, "IVR_CENTER": center, "IVR_CONFIG_DIR": str(ROOT),
            "IVR_DATA_DIR": str(tmp_path / "data"), "IVR_LOG_LEVEL": "info"}


@pytest.fixture
def serve(redis_url: str, center: str, tmp_path: Path) -> Iterator[list[IvrServe]]:
    """Started ``ivr serve`` processes are put here; stopped and their keys deleted afterwards."""
    started: list[IvrServe] = []
    yield started
    for server in started:
        server.stop()
    r = redis.Redis.from_url(redis_url)
    keys = list(r.scan_iter(match=Keys(center).pattern(), count=1000))
    if keys:
        r.delete(*keys)
    r.close()
