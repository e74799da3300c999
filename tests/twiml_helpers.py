"""Reading TwiML answers in tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET


def verbs(root: ET.Element) -> list[str]:
    """Top-level verb names in order."""
    return [child.tag for child in root]


def says(root: ET.Element) -> list[str]:
    """Every spoken text, including inside Gather."""
    return [el.text or "" for el in root.iter("Say")]


def dial_target(root: ET.Element) -> tuple[str, str]:
    """(noun, address) of the first Dial."""
    dial = root.find("Dial")
    assert dial is not None, ET.tostring(root)
    noun = next(iter(dial), None)
    if noun is None:
        return ("Number", (dial.text or "").strip())
    return (noun.tag, (noun.text or "").strip())
