"""Alembic migrations of the archive (run by ``ivr.archive.db.migrate``)."""
