"""Call documents for the call-path actions of ``ivr/core/policy.py``: no dialect here.

The core decides (connect, hold, offer a callback, survey, goodbye); the voice handlers
compute the URLs the document points back to; this module builds the document, which a
dialect renders.
"""

from __future__ import annotations

from ivr.core.policy import Closed, Connect, Goodbye, Hold, JoinRoom, Survey
from ivr.telephony import compose
from ivr.telephony import doc as d

SURVEY_KEYS = ("1", "2", "3")


def connect(turn: Connect, dial_done_url: str, answered_url: str) -> d.Doc:
    """Ring the reserved seat; ``dial_done_url`` hears the outcome."""
    return d.doc(d.DialSeat(turn.endpoint, turn.ring_seconds, dial_done_url, answered_url))


def hold(turn: Hold, lang: str, wait_url: str, offer_url: str | None, music_url: str | None,
         seconds: int) -> d.Doc:
    """One hold-loop turn; with an offer, inside a one-key gather posting to ``offer_url``."""
    if turn.offer is None or offer_url is None:
        return compose.hold(turn.announcement, lang, music_url, seconds, wait_url)
    say = d.Say(" ".join(filter(None, [turn.announcement, turn.offer])), lang)
    return d.doc(d.Gather(offer_url, (say, compose.hold_audio(music_url, seconds)), num_digits=1,
                          timeout=1, keys=("1",), lang=lang),
                 d.Redirect(wait_url))


def survey(turn: Survey, url: str, lang: str) -> d.Doc:
    """The rating question (keys 1-3, answered at ``url``), then hang up."""
    return d.doc(d.Gather(url, (d.Say(turn.text, lang),), num_digits=1, timeout=5,
                          keys=SURVEY_KEYS, lang=lang), d.Hangup())


def goodbye(turn: Goodbye | Closed, lang: str) -> d.Doc:
    """Say the text (if any) and hang up."""
    return compose.bye(turn.text, lang) if turn.text else d.doc(d.Hangup())


def join_room(turn: JoinRoom, status_url: str | None = None) -> d.Doc:
    """A leg joins the warm transfer's room; ``status_url`` hears participants leave."""
    return d.doc(d.Conference(turn.room, end_on_exit=turn.ends_room, status=status_url))


def say(text: str, lang: str) -> d.Doc:
    """Say one thing (a greeting before what follows)."""
    return d.doc(d.Say(text, lang))


def go_to(url: str) -> d.Doc:
    """Continue the call at another webhook."""
    return d.doc(d.Redirect(url))


def hang_up() -> d.Doc:
    """End the call without a word."""
    return d.doc(d.Hangup())
