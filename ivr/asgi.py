"""ASGI entry point for uvicorn workers: ``uvicorn ivr.asgi:app``.

The app is built on first use by each worker process from its environment.
"""

from __future__ import annotations

from typing import Any

from ivr.app import create_app
from ivr.settings import Settings

_app: Any = None


async def app(scope: Any, receive: Any, send: Any) -> None:
    """Build the app from Settings() on the first request or lifespan event, then serve."""
    global _app
    if _app is None:
        _app = create_app(Settings())
    await _app(scope, receive, send)
