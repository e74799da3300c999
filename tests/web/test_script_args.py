"""The ACD's script arguments, encoded before redis-py sees them, go out on the wire alike."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import Connection

from ivr.store.acd import _encoded

ARGS = st.lists(st.one_of(st.text(), st.integers(), st.floats(allow_nan=False),
                          st.sampled_from(["", "zh-CN", "12328", "测试"])), max_size=16)


@given(args=ARGS)
def test_encoded_arguments_pack_as_redis_py_packs_them(args: list[str | int | float]) -> None:
    """Text, ints (negative, huge) and floats: the same EVALSHA bytes as the encoder's."""
    conn = Connection()
    want = conn.pack_command("EVALSHA", "a" * 40, 1, "key", *args)
    assert conn.pack_command("EVALSHA", "a" * 40, 1, "key", *map(_encoded, args)) == want
