"""What a waiting caller is told: the estimate, the position sentence, texts by language."""

from __future__ import annotations

import math

import pytest

from ivr.core import waiting
from ivr.core.waiting import MAX_SPOKEN_MINUTES, announcement, estimate_wait_seconds, pick


@pytest.mark.parametrize(("position", "logged", "aht_ms", "eta"), [
    (1, 1, 180_000, 180.0),
    (3, 1, 180_000, 540.0),
    (3, 3, 180_000, 180.0),
    (10, 4, 120_000, 300.0),
    (0, 2, 180_000, 0.0),
    (5, 0, 60_000, 300.0),  # no seat logged in: judged as one seat, never a division by zero
    (5, -3, 60_000, 300.0),
    (-2, 1, 60_000, 0.0),  # never negative
])
def test_estimate(position: int, logged: int, aht_ms: float, eta: float) -> None:
    assert estimate_wait_seconds(position, logged, aht_ms) == pytest.approx(eta)


def test_estimate_grows_with_position_and_shrinks_with_seats() -> None:
    base = estimate_wait_seconds(4, 2, 100_000)
    assert estimate_wait_seconds(5, 2, 100_000) > base > estimate_wait_seconds(4, 3, 100_000)


@pytest.mark.parametrize(("position", "eta", "text"), [
    (1, 30, "您是下一位。预计等待约1分钟，请不要挂机。"),
    (0, 0, "您是下一位。预计等待约1分钟，请不要挂机。"),
    (2, 60, "您前面还有1位。预计等待约1分钟，请不要挂机。"),
    (5, 61, "您前面还有4位。预计等待约2分钟，请不要挂机。"),
    (12, 600, "您前面还有11位。预计等待约10分钟，请不要挂机。"),
])
def test_mandarin_position_texts(position: int, eta: float, text: str) -> None:
    assert announcement(position, eta, "zh-CN") == text


@pytest.mark.parametrize(("position", "eta", "text"), [
    (1, 30, "You are next in line. The expected wait is about 1 minute."),
    (2, 120, "You are number 2 in line. The expected wait is about 2 minutes."),
    (7, 121, "You are number 7 in line. The expected wait is about 3 minutes."),
])
def test_english_position_texts(position: int, eta: float, text: str) -> None:
    assert announcement(position, eta, "en-US") == text
    assert announcement(position, eta, "EN-gb") == text


@pytest.mark.parametrize("eta", [math.inf, 1e12, 10 * 86400])
def test_endless_estimates_are_capped(eta: float) -> None:
    assert f"about {MAX_SPOKEN_MINUTES} minutes" in announcement(3, eta, "en-US")
    assert f"约{MAX_SPOKEN_MINUTES}分钟" in announcement(3, eta, "zh-CN")


@pytest.mark.parametrize("eta", [math.nan, -5.0, -math.inf])
def test_odd_estimates_never_fail(eta: float) -> None:
    text = announcement(1, eta, "en-US")
    assert text.startswith("You are next in line. The expected wait is about ")


@pytest.mark.parametrize("language", ["zh-CN", "zh", "yue-HK", "fr-FR", ""])
def test_non_english_languages_hear_mandarin(language: str) -> None:
    assert announcement(2, 60, language).startswith("您前面还有1位")
    assert pick(waiting.APOLOGY, language) == waiting.APOLOGY["zh-CN"]


@pytest.mark.parametrize("language", ["en", "en-US", "en-GB", "EN-us"])
def test_english_languages_pick_english(language: str) -> None:
    for texts in (waiting.APOLOGY, waiting.CALLBACK_OFFER, waiting.CALLBACK_CONFIRM,
                  waiting.CALLBACK_GREETING, waiting.SURVEY, waiting.RATE_LIMITED, waiting.THANKS):
        assert pick(texts, language) == texts["en-US"]
        assert pick(texts, "zh-CN") == texts["zh-CN"]
        assert texts["zh-CN"] != texts["en-US"]


def test_survey_offers_the_three_ratings() -> None:
    for language in ("zh-CN", "en-US"):
        text = pick(waiting.SURVEY, language)
        assert all(k in text for k in "123")
