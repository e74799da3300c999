"""Reading TwiML answers in tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any


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


async def follow(phone: Any, root: ET.Element, **params: str) -> ET.Element:
    """Play Twilio's part for a trailing <Redirect>: request its URL with the call's params."""
    redirect = root.find("Redirect")
    assert redirect is not None, ET.tostring(root)
    assert redirect.text, ET.tostring(root)
    result: ET.Element = await phone.twiml(redirect.text, **params)
    return result
