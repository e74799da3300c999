"""Real processes on loopback for the fault tests and the storm benchmark.

``RedisServer`` runs one ``redis-server`` on a free loopback port in its own folder
(persistence chosen per server); ``RedisClusterProcs`` runs three or more of them with
``--cluster-enabled yes`` and joins them with ``redis-cli --cluster create``;
``Uvicorn`` runs the real service (``uvicorn ivr.asgi:app``) with its environment.
Every wait here is bounded in time, and every process is stopped by its own pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")


class ProcessError(RuntimeError):
    """A helper process did not start or stop as expected."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def cluster_port(tries: int = 200) -> int:
    """A free port for a cluster node whose bus port (port + 10000) is free too."""
    import random

    for _ in range(tries):
        port = random.randint(20000, 45000)
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise ProcessError("no free port pair for a cluster node")


def redis_ping(port: int, timeout: float = 0.5) -> bool:
    """Whether a Redis server answers PING on this loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stop one process we started (by its pid), killing it if it does not exit in time."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    except ProcessLookupError:
        pass


class RedisServer:
    """One redis-server on a free loopback port with its data in ``workdir``."""

    def __init__(self, workdir: Path, *, appendonly: bool = False, appendfsync: str = "everysec",
                 port: int | None = None, extra: Sequence[str] = ()) -> None:
        if REDIS_SERVER is None:
            raise ProcessError("redis-server is not installed (apt-get install redis-server)")
        self.workdir = workdir
        self.port = port or free_port()
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.extra = list(extra)
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """The redis:// URL of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        """The command line the server runs with."""
        assert REDIS_SERVER is not None
        return [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.workdir), "--logfile", "redis.log", "--save", "",
                "--appendonly", "yes" if self.appendonly else "no",
                "--appendfsync", self.appendfsync, "--protected-mode", "no", *self.extra]

    def start(self, timeout: float = 10) -> RedisServer:
        """Start (or restart, on the same port and folder) and wait until it answers PING."""
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=self.workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ProcessError(f"redis-server exited: {self.log_tail()}")
            if redis_ping(self.port):
                return self
            time.sleep(0.02)
        self.kill()
        raise ProcessError(f"redis-server on {self.port} did not answer PING in {timeout} s")

    def log_tail(self, n: int = 2000) -> str:
        """The end of the server's log."""
        path = self.workdir / "redis.log"
        return path.read_text(errors="replace")[-n:] if path.exists() else ""

    def shutdown(self, timeout: float = 10) -> None:
        """A clean stop: SHUTDOWN (which flushes the AOF), then wait for the process."""
        if self.proc is None or self.proc.poll() is not None:
            return
        assert REDIS_CLI is not None
        subprocess.run([REDIS_CLI, "-p", str(self.port), "shutdown"], timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """A crash: SIGKILL, nothing flushed."""
        if self.proc is not None:
            stop_process(self.proc, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the server if it runs (SIGTERM, then SIGKILL)."""
        if self.proc is not None:
            stop_process(self.proc)


class RedisClusterProcs:
    """A Redis Cluster of ``masters`` redis-servers on loopback, no replicas."""

    def __init__(self, workdir: Path, masters: int = 3) -> None:
        self.nodes = [RedisServer(workdir / f"node{i}", port=cluster_port(), extra=[
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "2000"]) for i in range(masters)]

    @property
    def url(self) -> str:
        """A URL of one node (the cluster client discovers the others)."""
        return self.nodes[0].url

    def start(self, timeout: float = 20) -> RedisClusterProcs:
        """Start every node and create the cluster; wait until every slot is served."""
        assert REDIS_CLI is not None
        for node in self.nodes:
            node.start()
        addrs = [f"127.0.0.1:{n.port}" for n in self.nodes]
        out = subprocess.run([REDIS_CLI, "--cluster", "create", *addrs, "--cluster-replicas", "0",
                              "--cluster-yes"], input=b"yes\n", capture_output=True,
                             timeout=timeout, check=False)
        if out.returncode != 0:
            raise ProcessError(f"redis-cli --cluster create failed: {out.stdout!r} {out.stderr!r}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = all(b"cluster_state:ok" in subprocess.run(
                [REDIS_CLI, "-p", str(n.port), "cluster", "info"], capture_output=True,
                timeout=5, check=False).stdout for n in self.nodes)
            if ok:
                return self
            time.sleep(0.1)
        raise ProcessError("the cluster did not reach cluster_state:ok")

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()


def service_env(*, redis_url: str, center: str, public_base_url: str, auth_token: str,
                data_dir: Path, cluster: bool = False, **extra: str) -> dict[str, str]:
    """The environment of a service process: IVR_* settings on top of ours, no Twilio REST."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env.update({
        "IVR_REDIS_URL": redis_url, "IVR_REDIS_CLUSTER": "true" if cluster else "false",
        "IVR_CENTER": center, "IVR_PUBLIC_BASE_URL": public_base_url,
        "IVR_TWILIO_AUTH_TOKEN": auth_token, "IVR_VALIDATE_SIGNATURES": "true",
        "IVR_CONFIG_DIR": str(ROOT), "IVR_DATA_DIR": str(data_dir), "IVR_LOG_LEVEL": "warning",
    })
    env.update(extra)
    return env


class Uvicorn:
    """The real service under uvicorn (``--workers N``) on a free loopback port."""

    def __init__(self, env_for: dict[str, str] | None = None, *, workers: int = 1,
                 port: int | None = None, logdir: Path | None = None) -> None:
        self.port = port or free_port()
        self.workers = workers
        self.env = dict(env_for or {})
        self.logdir = logdir or Path(tempfile.mkdtemp(prefix="ivr-uvicorn-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        """The service's own base URL (also its IVR_PUBLIC_BASE_URL)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the service's stderr goes."""
        return self.logdir / f"uvicorn-{self.port}.log"

    def start(self, timeout: float = 40) -> Uvicorn:
        """Start and wait until every worker could answer /healthz with 200."""
        argv = [sys.executable, "-m", "uvicorn", "ivr.asgi:app", "--host", "127.0.0.1",
                "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        if self.workers > 1:
            argv += ["--workers", str(self.workers)]
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                         stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        healthy = 0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ProcessError(f"uvicorn exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as r:
                    healthy = healthy + 1 if r.status == 200 else 0
            except OSError:
                healthy = 0
            if healthy >= 3 * self.workers:  # several answers in a row: every worker is up
                return self
            time.sleep(0.1)
        self.stop()
        raise ProcessError(f"uvicorn on {self.port} did not become healthy: {self.log_tail()}")

    def log_tail(self, n: int = 3000) -> str:
        """The end of the service's stderr."""
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""

    def pids(self) -> list[int]:
        """The supervisor's pid and its worker processes' pids (from /proc)."""
        if self.proc is None:
            return []
        out = [self.proc.pid]
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                out.append(int(d.name))
        return out

    def kill(self) -> None:
        """A host dies: SIGKILL to the supervisor and each of its workers, by pid."""
        for pid in reversed(self.pids()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            self.proc.wait(10)

    def stop(self) -> None:
        """A clean stop (SIGTERM to the supervisor, which stops its workers); then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        workers = self.pids()[1:]
        stop_process(self.proc, timeout=15)
        for pid in workers:  # orphans left by a supervisor that was killed
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
