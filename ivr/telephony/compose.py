"""Build the call documents the webhooks answer, from the core's actions: no dialect here.

The web layer asks for a document (a flow step, a hold turn, a seat dial, the apology)
and a dialect renders it. URLs are absolute and come from the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from ivr.core.engine import Action, GatherAction, HangupAction, PlayAction, SayAction
from ivr.core.waiting import APOLOGY
from ivr.telephony import doc as d


def _prompt(a: SayAction | PlayAction) -> d.Prompt:
    return d.Say(a.text, a.language) if isinstance(a, SayAction) else d.Play(a.url)


def steps(actions: Sequence[Action], gather_url: str | None = None) -> d.Doc:
    """Say/Play/Gather/Hangup actions (queue and transfer are built elsewhere)."""
    verbs: list[d.Verb] = []
    for a in actions:
        if isinstance(a, SayAction | PlayAction):
            verbs.append(_prompt(a))
        elif isinstance(a, GatherAction) and gather_url:
            verbs.append(d.Gather(gather_url, tuple(_prompt(p) for p in a.prompt), a.speech,
                                  a.num_digits, a.timeout, hints=a.hints, lang=a.language))
            # no input at all: the platform falls through the gather; ask again via the action
            verbs.append(d.Redirect(gather_url))
        elif isinstance(a, GatherAction):
            verbs.extend(_prompt(p) for p in a.prompt)
        elif isinstance(a, HangupAction):
            verbs.append(d.Hangup())
    return d.Doc(tuple(verbs))


def hold_audio(music_url: str | None, seconds: int) -> d.Prompt:
    """What a waiting caller hears between announcements: music, or silence."""
    return d.Play(music_url) if music_url else d.Pause(seconds)


def hold(text: str | None, language: str, music_url: str | None, seconds: int,
         wait_url: str) -> d.Doc:
    """One turn of the hold loop: announcement, music (or silence), back to the wait URL."""
    say = (d.Say(text, language),) if text else ()
    return d.Doc((*say, hold_audio(music_url, seconds), d.Redirect(wait_url)))


def apology(backup_number: str, action: str, language: str = "zh-CN") -> d.Doc:
    """When we cannot serve the call: an apology and the backup line (``action`` hangs up)."""
    text = APOLOGY.get(language, APOLOGY["zh-CN"])
    return d.doc(d.Say(text, language if language in APOLOGY else "zh-CN"),
                 d.DialBackup(backup_number, action))


def bye(text: str, language: str) -> d.Doc:
    """Say one thing and end the call."""
    return d.doc(d.Say(text, language), d.Hangup())


def dial_target(display: str, address: str, action: str, caller_id: str | None) -> d.Doc:
    """Transfer the caller to a number or SIP address; ``action`` hears how it went."""
    return d.doc(d.DialTarget(d.Target(display, address), action, caller_id=caller_id))
