"""Seat tokens: an HMAC of the seat id under the seat secret, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac


def seat_token(secret: str, seat_id: str) -> str:
    """The bearer token that lets a softphone act for one seat."""
    return hmac.new(secret.encode(), f"seat:{seat_id}".encode(), hashlib.sha256).hexdigest()[:40]


def check_seat_token(secret: str, seat_id: str, presented: str) -> bool:
    """Whether ``presented`` is the token of ``seat_id``."""
    return hmac.compare_digest(seat_token(secret, seat_id), presented)
