"""The simulator's own reads (ivr.sim.wire) answer as redis-py does, and the phone's
Twilio signature and form body are the ``twilio`` library's and ``urlencode``'s."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from twilio.request_validator import RequestValidator

from ivr.phone.transport import form_body, split_url, twilio_signature
from ivr.sim.checks import read_ahead
from ivr.sim.wire import WirePipe, WireReader, pipelines
from ivr.store.invariants import violations
from ivr.store.keys import Keys


def _queue(pipe: Any, k: str) -> None:
    pipe.zcard(f"{k}:z")
    pipe.zcard(f"{k}:none")
    pipe.zrange(f"{k}:z", 0, 0, withscores=True)
    pipe.zrange(f"{k}:z", 0, -1, withscores=True)
    pipe.zrange(f"{k}:z", 0, -1)
    pipe.zrange(f"{k}:none", 0, 0, withscores=True)
    pipe.hget(f"{k}:h", "st")
    pipe.hget(f"{k}:h", "nothing")
    pipe.hgetall(f"{k}:h")
    pipe.hgetall(f"{k}:none")
    pipe.smembers(f"{k}:s")
    pipe.smembers(f"{k}:none")


async def test_wire_pipe_answers_as_redis_py(redis_url: str) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    k = f"wire{uuid.uuid4().hex[:8]}"
    try:
        await client.zadd(f"{k}:z", {"CA1": 1_799_596_800_123.0, "CA2": 2.5, "汉字": -3})
        await client.hset(f"{k}:h", mapping={"st": "ready", "call": "", "名": "值 é"})
        await client.sadd(f"{k}:s", "pool|any", "pool|tax")
        make, wire = pipelines(client, 5.0)
        assert wire is not None
        try:
            ours = make()
            assert isinstance(ours, WirePipe)
            theirs = client.pipeline(transaction=False)
            _queue(ours, k)
            _queue(theirs, k)
            got, want = await ours.execute(), await theirs.execute()
            assert got == want
            assert got[2] == [("汉字", -3.0)]
            assert await ours.execute() == []  # a pipe is empty after it ran
            ours.delete(f"{k}:z", f"{k}:h", f"{k}:none")
            assert await ours.execute() == [2]
            assert await client.exists(f"{k}:z", f"{k}:h") == 0
            ours.hget(f"{k}:s", "x")  # a set is no hash: the error reaches the caller
            ours.zcard(f"{k}:none")  # after every reply of the pipe was read
            with pytest.raises(ResponseError, match="WRONGTYPE"):
                await ours.execute()
            ours.smembers(f"{k}:s")  # and the next read is not shifted by the error
            assert await ours.execute() == [{"pool|any", "pool|tax"}]
        finally:
            wire.close()
    finally:
        await client.delete(f"{k}:z", f"{k}:h", f"{k}:s")
        await client.aclose()


async def test_wire_reader_answers_as_redis_py(redis_url: str) -> None:
    """The full checks' one-key reads, and violations() through them, as through redis-py."""
    client = Redis.from_url(redis_url, decode_responses=True)
    k = f"wire{uuid.uuid4().hex[:8]}"
    keys = Keys(f"w{uuid.uuid4().hex[:8]}")
    make, wire = pipelines(client, 5.0)
    assert wire is not None
    reader = WireReader(wire)
    try:
        await client.zadd(f"{k}:z", {"CA1": 1_799_596_800_123.0, "CA2": 2.5, "汉字": -3})
        await client.hset(f"{k}:h", mapping={"st": "ready", "名": "值 é"})
        await client.sadd(f"{k}:s", "pool|any", "pool|tax")
        for n in range(30):
            await client.set(f"{k}:many:{n}", "x")
        scores = {"withscores": True}
        for name, args, kw in (("smembers", (f"{k}:s",), {}), ("smembers", (f"{k}:none",), {}),
                               ("hgetall", (f"{k}:h",), {}), ("hgetall", (f"{k}:none",), {}),
                               ("zrange", (f"{k}:z", 0, -1), {}),
                               ("zrange", (f"{k}:z", 0, 0), scores),
                               ("zscore", (f"{k}:z", "CA1"), {}),
                               ("zscore", (f"{k}:z", "none"), {}),
                               ("zcard", (f"{k}:z",), {}), ("zcard", (f"{k}:none",), {})):
            got = await getattr(reader, name)(*args, **kw)
            assert got == await getattr(client, name)(*args, **kw), name
        want = {x async for x in client.scan_iter(match=f"{k}:many:*", count=7)}
        assert {x async for x in reader.scan_iter(match=f"{k}:many:*", count=7)} == want
        assert len(want) == 30
        # a broken state: a ready seat beside a waiting call, a talking call nobody holds
        await client.sadd(keys.seats(), "s1")
        await client.hset(keys.seat("s1"), mapping={"st": "ready", "qs": "pool",
                                                     "sets": "pool|any", "call": ""})
        await client.hset(keys.call("CA9"), mapping={"st": "waiting", "q": "pool", "sk": "any"})
        await client.hset(keys.call("CA8"), mapping={"st": "talking", "q": "pool", "seat": "s1"})
        await client.sadd(keys.wskills("pool"), "any")
        await client.zadd(keys.wait("pool", "any"), {"CA9": 1.0})
        found = await violations(reader, keys)  # type: ignore[arg-type]
        assert found == await violations(client, keys)
        assert len(found) >= 3, found
        # read ahead (the simulator's checkpoint): the same answers, in a few round trips
        sent = _count_calls(wire)
        with reader.still():
            read_ahead(reader, keys, ["pool", "nobody"])
            ahead = len(sent)
            assert await violations(reader, keys) == found  # type: ignore[arg-type]
        assert ahead <= 4
        assert len(sent) == ahead, sent[ahead:]  # every read of violations() was read ahead
    finally:
        wire.close()
        doomed = [x async for x in client.scan_iter(match=f"{k}:*")]
        doomed += [x async for x in client.scan_iter(match=keys.pattern())]
        await client.delete(*doomed)
        await client.aclose()


def _count_calls(wire: Any) -> list[Any]:
    """The command lists the wire sends from now on (the wire's ``call`` wrapped)."""
    sent: list[Any] = []
    call = wire.call

    def counting(commands: Any) -> Any:
        sent.append(commands)
        return call(commands)
    wire.call = counting
    return sent


async def test_answers_read_ahead_hold_until_the_still_span_ends(redis_url: str) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    k = f"wire{uuid.uuid4().hex[:8]}"
    _, wire = pipelines(client, 5.0)
    assert wire is not None
    reader = WireReader(wire)
    try:
        await client.hset(f"{k}:h", mapping={"st": "ready"})
        await client.sadd(f"{k}:s", "a")
        assert reader.prefetch([("HGETALL", f"{k}:h")]) is None  # outside still(): nothing
        with reader.still():
            got = reader.prefetch([("HGETALL", f"{k}:h"), ("ZCARD", f"{k}:none")])
            assert got == [["st", "ready"], 0]
            # an error reply: nothing of that round trip is kept, the read raises later
            assert reader.prefetch([("SMEMBERS", f"{k}:s"), ("ZCARD", f"{k}:h")]) is None
            await client.hset(f"{k}:h", "st", "talking")
            await client.sadd(f"{k}:s", "b")
            assert await reader.hgetall(f"{k}:h") == {"st": "ready"}  # as read ahead
            assert await reader.smembers(f"{k}:s") == {"a", "b"}  # not kept: read now
            with pytest.raises(ResponseError, match="WRONGTYPE"):
                await reader.zcard(f"{k}:h")
        assert await reader.hgetall(f"{k}:h") == {"st": "talking"}
    finally:
        wire.close()
        await client.delete(f"{k}:h", f"{k}:s")
        await client.aclose()


_URL_PART = st.text(st.sampled_from("aZ09-._~%/?#&=:@+ \t\n[]汉"), max_size=12)


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(scheme=st.sampled_from(["https://", "http://", "", "HTTPS://", " https://"]),
       host=st.sampled_from(["ivr.local", "ivr.local:8443", "127.0.0.1:80", "", "[::1]:9"]),
       rest=_URL_PART, more=_URL_PART)
def test_split_url_is_urlsplits(scheme: str, host: str, rest: str, more: str) -> None:
    url = scheme + host + "/" + rest + more
    parts = urlsplit(url)
    https = parts.scheme == "https"
    want = (parts.scheme, parts.netloc, parts.path, parts.query, parts.hostname or "",
            parts.port or (443 if https else 80))
    assert tuple(split_url(url)) == want
    assert tuple(split_url(url)) == want  # the second time from the cache


def test_signature_and_form_body_match_twilio_and_urlencode() -> None:
    token = "test-token-123"
    validator = RequestValidator(token)
    forms = [
        {},
        {"CallSid": "CA" + "0" * 32, "From": "+8613800000001", "To": "12345",
         "Digits": "1#", "SpeechResult": "我要 投诉 & 举报=?", "Timestamp":
         "Mon, 11 Jan 2027 00:00:00 +0000", "Confidence": "0.9", "Caller": "+86 138/0"},
        {"b": "2", "a": "1", "A": "0", "ü": "ö~*'()!"},
    ]
    for url in ("https://ivr.local/voice/incoming",
                "https://ivr.local/voice/wait?q=pool&n=3"):
        for form in forms:
            assert twilio_signature(token.encode(), url, form) == \
                validator.compute_signature(url, form)
            assert form_body(form) == urlencode(form).encode()
