"""Property-based API tests from the OpenAPI document (schemathesis), with an admin token.

A real uvicorn server runs the app on a loopback port against the test Redis; every
admin and flow operation is called with generated input: no 5xx, and every response
must match the documented status codes, content types and schemas.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.core.result import Ok

from ivr.app import create_app
from ivr.settings import DEV_ADMIN_TOKEN, Settings
from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_url(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    cfg = Settings(redis_url=redis_url, center="st" + uuid.uuid4().hex[:8],
                   data_dir=Path(tmp_path_factory.mktemp("st")), config_dir=ROOT,
                   public_base_url=f"http://127.0.0.1:{port}", sweep_interval_seconds=1)
    server = uvicorn.Server(uvicorn.Config(create_app(cfg), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def api_schema(live_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{live_url}/openapi.json")


# Semantic refusals (422 for a line whose queue does not exist) are correct answers
# to schema-valid input, so "positive data acceptance" is not among the checks.
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance,
          checks.response_headers_conformance]
ADMIN_PATHS = re.compile(r"^/api/(lines|targets|exclusions|schedules|queues|roster|plan|audit|flows)")


def test_admin_api_conforms_to_its_schema(api_schema: schemathesis.BaseSchema) -> None:
    headers = {"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"}
    tested = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if not ADMIN_PATHS.match(operation.path):
            continue
        tested.append(f"{operation.method.upper()} {operation.path}")

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
    assert len(tested) >= 20, tested
