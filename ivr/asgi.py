"""ASGI entry point for uvicorn workers: ``uvicorn ivr.asgi:app``.

Tokens and caller numbers are masked in every line uvicorn's own handlers write (as
``ivr serve`` does with its logging config). The app is built on first use by each worker
process from its environment; settings that are refused (see
``Settings.production_problems``) fail the lifespan startup, so uvicorn exits instead of
serving.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ivr.app import create_app
from ivr.logs import mask_installed_handlers
from ivr.settings import Settings

_app: Any = None


async def app(scope: Any, receive: Any, send: Any) -> None:
    """Build the app from Settings() on the first request or lifespan event, then serve."""
    global _app
    if _app is None:
        mask_installed_handlers()  # uvicorn's own handlers: mask tokens and numbers too
        try:
            _app = create_app(Settings())
        except ValidationError as exc:  # refused settings: the worker must not start
            if scope["type"] != "lifespan":
                raise
            await receive()  # lifespan.startup
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
    await _app(scope, receive, send)
