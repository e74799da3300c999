"""The archive: call records and seat intervals from the center's event stream, in SQL.

- :mod:`ivr.archive.models` tables; :mod:`ivr.archive.db` engines and migrations;
- :mod:`ivr.archive.decode` stream entries to records (no I/O);
- :mod:`ivr.archive.writer` idempotent upserts and rollups in one transaction;
- :mod:`ivr.archive.consumer` the Redis consumer group (batches, ack after commit,
  XAUTOCLAIM of a dead consumer's entries), and the lag of the archive;
- :mod:`ivr.archive.reports` reports from rollups (or raw rows), CSV and XLSX.
"""
