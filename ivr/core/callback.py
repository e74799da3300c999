"""Queued callbacks: when to offer one, what a key press means, how a call back is placed.

Pure: the queue's ``callback:`` policy (``ivr/core/roster.py``) and figures come in as
arguments. A waiting caller whose queue has a policy hears the offer once they have
waited ``offer_after_seconds`` (or at once, when a closed queue offers callbacks); key 1
asks for the callback and keeps the place in line. When a seat is reserved for that
place, a caller who hung up meanwhile is called back (one still on the line is pulled
out of the hold loop as usual); an attempt nobody answers is retried after
``retry_seconds``, at most ``max_attempts`` times.
"""

from __future__ import annotations

from ivr.core.roster import CallbackPolicy, Roster

ACCEPT_KEY = "1"  #: the key that asks for the callback
NO_POLICY_TERMS = (1, 60.0)  #: one attempt when the queue's policy was removed meanwhile


def policy_of(roster: Roster, queue_id: str) -> CallbackPolicy | None:
    """The callback policy of the queue a call waits in (None: no callbacks there)."""
    for queue in roster.queues:
        if queue.id == queue_id:
            return queue.callback
    return None


def offer_due(policy: CallbackPolicy | None, asked: bool, waited_ms: int,
              offer_now: bool = False) -> bool:
    """Whether this hold-loop turn offers the callback (never twice once asked for)."""
    if policy is None or asked:
        return False
    return offer_now or waited_ms >= policy.offer_after_seconds * 1000


def accepts(digits: str) -> bool:
    """Whether the caller's keys answer the offer with yes."""
    return digits.startswith(ACCEPT_KEY)


def call_back_instead(asked: bool, gone: bool) -> bool:
    """A seat was reserved for this call: call it back (it asked and hung up) or not."""
    return asked and gone


def retry_terms(policy: CallbackPolicy | None) -> tuple[int, float]:
    """(attempts allowed, seconds before the next one) for a callback attempt that failed."""
    return (policy.max_attempts, policy.retry_seconds) if policy else NO_POLICY_TERMS


def caller_id(policy: CallbackPolicy | None, service_from: str, line_number: str) -> str:
    """The number a call back comes from: the policy's, else the service's, else the line."""
    if policy and policy.caller_id:
        return policy.caller_id
    return service_from or line_number
