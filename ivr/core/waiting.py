"""What a waiting caller is told: position and estimated wait. Pure."""

from __future__ import annotations

import math


def estimate_wait_seconds(position: int, logged_in: int, aht_ms: float) -> float:
    """Expected wait: calls ahead (and this one) times handle time, shared by the seats."""
    return max(0.0, position * (aht_ms / 1000.0) / max(1, logged_in))


def announcement(position: int, eta_seconds: float, language: str) -> str:
    """The hold-loop sentence with position and estimated wait, in zh or en."""
    minutes = max(1, math.ceil(eta_seconds / 60))
    if language.lower().startswith("en"):
        ahead = "You are next in line." if position <= 1 else f"You are number {position} in line."
        return f"{ahead} The expected wait is about {minutes} minute{'s' if minutes > 1 else ''}."
    ahead = "您是下一位。" if position <= 1 else f"您前面还有{position - 1}位。"
    return f"{ahead}预计等待约{minutes}分钟，请不要挂机。"


APOLOGY = {
    "zh-CN": "对不起，系统暂时繁忙，正在为您转接人工服务。",
    "en-US": "Sorry, our system is busy. We are putting you through to an operator.",
}
NO_SEAT_NOTICE = "对不起，暂时无法接通，请稍后再拨。"
