"""The operations guide's settings table is true to ``ivr.settings.Settings``.

Every setting a user can set is in the table, no row names a setting that does not
exist, and every development default secret is given by its value (a newcomer signing a
webhook by hand needs it; production refuses it).
"""

from __future__ import annotations

import re
from pathlib import Path

from ivr.settings import DEV_SECRETS, Settings

DOC = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_and_every_documented_one_exists() -> None:
    fields = {f"IVR_{name.upper()}" for name in Settings.model_fields}
    named = set(re.findall(r"`(IVR_[A-Z0-9_]+)`", DOC))
    assert fields - named == set(), "settings missing from docs/operations.md"
    assert named - fields == set(), "docs/operations.md names settings that do not exist"


def test_development_defaults_are_given_by_value() -> None:
    for secret in DEV_SECRETS:
        assert f"`{secret}`" in DOC, secret
