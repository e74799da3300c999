"""Archive fixtures: a fresh PostgreSQL database per test run, and SQLite files.

PostgreSQL comes from ``IVR_TEST_DATABASE_URL`` (a server URL, e.g.
``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``): the run creates its own
database there (``ivr_test_<random>``) and drops it at the end, so parallel runs never
meet. Without it, a throwaway server is started (``tests/archive/pgserver.py``).
Every archive test that takes ``db_url`` runs on both PostgreSQL and SQLite.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.archive.db import make_engine, migrate
from tests.archive.pgserver import PgServer


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_db(url: str, db: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + db


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("IVR_TEST_DATABASE_URL")
    if url:
        yield url
        return
    server = PgServer()
    server.start()
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture(scope="session")
def pg_database(pg_server_url: str) -> Iterator[str]:
    name = "ivr_test_" + uuid.uuid4().hex[:12]

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_plain(pg_server_url))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _with_db(pg_server_url, name)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'archive.db'}"
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(db_url)
    await migrate(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def settings(redis_url: str, center: str, tmp_path: Path, db_url: str) -> Any:
    """The shared test settings, with the archive in the database under test."""
    from ivr.settings import Settings
    from tests.conftest import BASE, ROOT

    return Settings(
        redis_url=redis_url, center=center, data_dir=tmp_path, config_dir=ROOT,
        public_base_url=BASE, twilio_auth_token="test-token-123", hold_loop_seconds=10,
        database_url=db_url,
    )
