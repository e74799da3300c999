"""Engines and migrations of the archive database (PostgreSQL, or an embedded SQLite file).

``IVR_DATABASE_URL`` names a PostgreSQL database (``postgresql+asyncpg://user@host/db``);
unset, the archive is the SQLite file ``archive.db`` in ``IVR_DATA_DIR`` (aiosqlite), so a
first run needs nothing installed. Writers serialise per center: on PostgreSQL a
transaction-scoped advisory lock, on SQLite ``BEGIN IMMEDIATE`` (the file's write lock).
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ivr.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x1234_5000  # advisory lock id held while migrating (PostgreSQL)


def database_url(settings: Settings) -> str:
    """The archive's SQLAlchemy URL: ``IVR_DATABASE_URL``, else SQLite in the data folder."""
    if settings.database_url:
        return settings.database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{(settings.data_dir / 'archive.db').resolve()}"


def make_engine(url: str, **kw: Any) -> AsyncEngine:
    """An async engine; SQLite gets a busy timeout and write-locking transactions."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kw)

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_size=kw.pop("pool_size", 4), **kw)


def lock_id(center: str) -> int:
    """The advisory lock id serialising one center's archive writers (PostgreSQL)."""
    return zlib.crc32(center.encode())


async def lock_center(conn: AsyncConnection, center: str) -> None:
    """Hold the center's write lock until the transaction ends (PostgreSQL; SQLite is locked)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id(center)})


def _upgrade(conn: Connection, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic); safe when several workers start at once."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        await conn.run_sync(_upgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The schema revision the database is at (None before the first migration)."""
    async with engine.connect() as conn:
        try:
            row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
        except Exception:
            return None
        return str(row[0]) if row else None
