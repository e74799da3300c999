"""``uvicorn ivr.asgi:app`` (uvicorn's own logging, not ``ivr serve``'s) masks tokens and
numbers too: its access lines and the service's lines go through uvicorn's handlers."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.faults.servers import ROOT, free_port, stop_process
from tests.security.conftest import PROD, clean_env

NUMBER = "%2B8613800138000"


def test_plain_uvicorn_masks_tokens_and_numbers(service_settings: dict[str, str],
                                                tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "uvicorn.log"
    env = clean_env(**service_settings, **PROD)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "ivr.asgi:app", "--port", str(port),
             "--log-level", "info"],  # access log on, uvicorn's default formatters
            cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/livez", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = PROD["IVR_MONITOR_TOKEN"]
        resp = httpx.get(f"{base}/dashboard?token={token}&From={NUMBER}", timeout=5)
        assert resp.status_code == 200, resp.text[:300]
        deadline = time.monotonic() + 10
        while "/dashboard" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop_process(proc)
    text = log_path.read_text()
    assert "/dashboard" in text, text[-2000:]
    assert token[:12] not in text, "a token reached the log"
    assert "13800138000" not in text, "a caller number reached the log"
    assert "0013" not in text, "a caller number reached the log"
    assert "%2B86138****8000" in text, text[-2000:]
