"""Helpers for flow tests: the admin API as an admin would call it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ivr.settings import DEV_ADMIN_TOKEN, DEV_MONITOR_TOKEN

ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"}
MONITOR = {"Authorization": f"Bearer {DEV_MONITOR_TOKEN}"}


class Admin:
    """Creates flows and changes lines through the admin API."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def create(self, flow: dict[str, Any], publish: bool = True) -> httpx.Response:
        """POST a new flow (published unless told otherwise)."""
        return await self.client.post("/api/flows", json={"flow": flow, "publish": publish},
                                      headers=ADMIN)

    async def put_line(self, number: str, **change: Any) -> httpx.Response:
        """Change fields of a line."""
        got = await self.client.get(f"/api/lines/{number}", headers=MONITOR)
        line = got.json()["data"] | change
        return await self.client.put(f"/api/lines/{number}", json=line,
                                     headers={**ADMIN, "If-Match": got.headers["ETag"]})


@pytest.fixture
def admin(app_env: dict[str, Any]) -> Admin:
    return Admin(app_env["client"])


def chain(fid: str, n_say: int, last: dict[str, Any] | None = None) -> dict[str, Any]:
    """A flow of ``n_say`` say nodes in a row, ending in ``last`` (default: a queue)."""
    nodes: dict[str, Any] = {f"s{i}": {"kind": "say", "text": f"第{i}句。", "next": f"s{i + 1}"}
                             for i in range(n_say)}
    nodes[f"s{n_say}"] = last or {"kind": "queue"}
    return {"id": fid, "start": "s0", "nodes": nodes}


def problems(resp: httpx.Response) -> list[dict[str, Any]]:
    """The problems of a 422 answer."""
    assert resp.status_code == 422, (resp.status_code, resp.text[:500])
    detail: list[dict[str, Any]] = resp.json()["detail"]
    return detail
