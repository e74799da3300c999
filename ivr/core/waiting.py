"""What a waiting caller is told: position and estimated wait. Pure."""

from __future__ import annotations

import math


def estimate_wait_seconds(position: int, logged_in: int, aht_ms: float) -> float:
    """Expected wait: calls ahead (and this one) times handle time, shared by the seats."""
    return max(0.0, position * (aht_ms / 1000.0) / max(1, logged_in))


MAX_SPOKEN_MINUTES = 600  # a longer (or infinite) estimate is said as this many minutes


def announcement(position: int, eta_seconds: float, language: str) -> str:
    """The hold-loop sentence with position and estimated wait, in zh or en (never fails)."""
    eta = eta_seconds if math.isfinite(eta_seconds) else 0.0 if math.isnan(eta_seconds) else 1e9
    minutes = min(MAX_SPOKEN_MINUTES, max(1, math.ceil(eta / 60)))
    position = max(1, int(position))
    if language.lower().startswith("en"):
        ahead = "You are next in line." if position <= 1 else f"You are number {position} in line."
        return f"{ahead} The expected wait is about {minutes} minute{'s' if minutes > 1 else ''}."
    ahead = "您是下一位。" if position <= 1 else f"您前面还有{position - 1}位。"
    return f"{ahead}预计等待约{minutes}分钟，请不要挂机。"


APOLOGY = {
    "zh-CN": "对不起，系统暂时繁忙，正在为您转接人工服务。",
    "en-US": "Sorry, our system is busy. We are putting you through to an operator.",
}

CALLBACK_OFFER = {
    "zh-CN": "如需我们稍后回拨，请按1，您的排队位置将为您保留。",
    "en-US": "To be called back instead of waiting, press 1. You keep your place in line.",
}
CALLBACK_CONFIRM = {
    "zh-CN": "好的，轮到您时我们将回拨本机号码，请挂机等候。",
    "en-US": "Thank you. We will call you back when it is your turn. You may hang up now.",
}
CALLBACK_GREETING = {
    "zh-CN": "您好，这里是12345政务服务便民热线，您之前预约了回拨，现在为您接通人工服务。",
    "en-US": "Hello, this is the 12345 hotline calling you back as requested. Connecting you now.",
}
CALLBACK_UNAVAILABLE = {
    "zh-CN": "对不起，暂时无法为您接通，我们稍后再联系您。",
    "en-US": "Sorry, we cannot connect you right now.",
}
SURVEY = {
    "zh-CN": "请对本次服务进行评价：满意请按1，基本满意请按2，不满意请按3。",
    "en-US": "Please rate this call: satisfied, press 1; basically satisfied, press 2; "
             "dissatisfied, press 3.",
}
RATE_LIMITED = {
    "zh-CN": "您的来电过于频繁，请稍后再拨。",
    "en-US": "You have called too many times in a short while. Please try again later.",
}
THANKS = {"zh-CN": "感谢您的评价，再见。", "en-US": "Thank you for your feedback. Goodbye."}


def pick(texts: dict[str, str], language: str) -> str:
    """The text in the caller's language: English for any en-*, else Mandarin."""
    return texts["en-US"] if language.lower().startswith("en") else texts["zh-CN"]


def in_language(text: str, text_en: str, language: str) -> str:
    """A configured text for the caller: its English version for any en-*, if it has one."""
    return text_en if text_en and language.lower().startswith("en") else text
