"""The real app under uvicorn on a loopback port, in a thread: for phones that call a URL."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import redis
import uvicorn

from ivr.app import create_app
from ivr.settings import Settings
from ivr.store.keys import Keys
from tests.faults.servers import free_port


@contextlib.contextmanager
def serve_in_thread(settings: Settings) -> Iterator[str]:
    """Serve ``settings``'s app; yields its base URL; stops it and deletes its center's keys."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", ws="none", http="h11"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        r = redis.Redis.from_url(settings.redis_url or "")
        keys = list(r.scan_iter(match=Keys(settings.center).pattern(), count=1000))
        if keys:
            r.delete(*keys)
        r.close()
