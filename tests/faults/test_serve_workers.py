"""``ivr serve`` with several workers: a worker that is slow to start is not killed.

uvicorn's supervisor kills a worker that does not answer its health ping in time, and a
spawned worker first imports the ``ivr`` command (its ``__main__``): on a loaded host that
took longer than uvicorn's default 5 s, so every worker was killed and respawned for ever
and the service (the Docker image runs ``ivr serve`` with IVR_WORKERS=2) never answered.
Here each worker is made to start 7 s late, as on a slow host.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from ivr.cli import WORKER_START_SECONDS
from tests.faults.conftest import needs_redis
from tests.faults.servers import RedisServer, free_port, service_env

pytestmark = needs_redis
SLOW_START = 7.0
SITECUSTOMIZE = f"""import sys, time
if "--multiprocessing-fork" in sys.argv:  # a worker spawned by uvicorn's supervisor
    time.sleep({SLOW_START})
"""


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status)
    except OSError:
        return 0


def test_slow_workers_start_and_serve(redis_proc: RedisServer, tmp_path: Path) -> None:
    assert SLOW_START + 5 < WORKER_START_SECONDS
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    port = free_port()
    env = service_env(redis_url=redis_proc.url, center="w" + uuid.uuid4().hex[:8],
                      public_base_url=f"http://127.0.0.1:{port}", auth_token="serve-token",
                      data_dir=tmp_path / "data", IVR_WORKERS="2", IVR_HOST="127.0.0.1",
                      IVR_PORT=str(port), IVR_LOG_LEVEL="info", IVR_ARCHIVE="false")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "ivr"), "serve"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SLOW_START + 25
        text = ""
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            text = log.read_text(errors="replace")
            if text.count("Application startup complete") == 2:
                break
            time.sleep(0.2)
        assert text.count("Application startup complete") == 2, text[-3000:]
        assert "died" not in text, text[-3000:]
        assert status(f"http://127.0.0.1:{port}/livez") == 200
        assert status(f"http://127.0.0.1:{port}/readyz") == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
