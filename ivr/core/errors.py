"""Configuration errors that name exactly what is wrong.

Error tree::

    ConfigError            one or more problems found while loading or validating config
      (carries Problem(where, field, message) items: where is "flow X node Y",
       "line 12328", "queue pool", "seat s01", or a file name)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the configuration."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        field = f" field {self.field}" if self.field else ""
        return f"{self.where}{field}: {self.message}"


class ConfigError(Exception):
    """Raised with every problem found, so an admin can fix them all at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
