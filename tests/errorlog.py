"""A test fails when the service logged an ERROR it did not expect.

Callers hear the apology when a handler raises, so a journey test that only reads the
TwiML would pass over a crash. This plugin collects every record at ERROR or above from
the service's loggers (``ivr``, and uvicorn's and Starlette's error loggers) during each
test; a test that logged one fails at teardown, naming the record. A test that provokes an
error on purpose says so with ``@pytest.mark.error_log("text it expects")``: each expected
text must appear in some record, and every record must match one of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

WATCHED = ("ivr", "uvicorn.error", "starlette", "fastapi")


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in WATCHED or record.name in WATCHED:
            self.records.append(record)


def _text(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
    return f"{record.name}: {text}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "error_log(*texts): the test expects ERROR records containing these texts")


@pytest.fixture(autouse=True)
def no_unexpected_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    collector = _Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield
    finally:
        root.removeHandler(collector)
    marker = request.node.get_closest_marker("error_log")
    expected = tuple(marker.args) if marker else ()
    texts = [_text(r) for r in collector.records]
    unexpected = [t for t in texts if not any(e in t for e in expected)]
    missing = [e for e in expected if not any(e in t for t in texts)]
    if unexpected:
        pytest.fail("the service logged errors:\n  " + "\n  ".join(unexpected), pytrace=False)
    if missing:
        pytest.fail(f"expected an ERROR record containing {missing!r}; got {texts!r}",
                    pytrace=False)
