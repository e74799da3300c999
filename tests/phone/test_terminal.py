"""The phone in a terminal: one key is one digit, words end with Enter, Ctrl-C hangs up."""

from __future__ import annotations

import asyncio
import io
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from ivr.phone import twiml
from ivr.phone.call import CallEvent, CallSession, CallSpec, Input
from ivr.phone.runtime import RealTime
from ivr.phone.terminal import KeyboardCaller, Printer
from ivr.phone.transport import Twilio
from tests.phone.conftest import ROOT


@dataclass
class FakeKeys:
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    def type(self, text: str) -> None:
        for ch in text:
            self.queue.put_nowait(ch)


def a_call() -> CallSession:
    rt = RealTime(time.time)
    return CallSession(CallSpec("12345", "+86", "https://x/in"), Twilio(None, "t"), rt,  # type: ignore[arg-type]
                       caller=None)  # type: ignore[arg-type]


MENU = twiml.Gather("https://x/g", timeout=0.2, num_digits=1,
                    input=frozenset({"dtmf", "speech"}))


async def test_one_key_is_one_digit_and_words_end_with_enter() -> None:
    keys, out = FakeKeys(), io.StringIO()
    caller = KeyboardCaller(keys, out)
    keys.type("19")
    assert await caller.gather(MENU, a_call()) == Input(digits="1"), "numDigits=1 ends it"
    long_menu = twiml.Gather("https://x/g", timeout=0.2, finish_on_key="#")
    keys.queue = asyncio.Queue()
    keys.type("123#4")
    assert await caller.gather(long_menu, a_call()) == Input(digits="123")
    keys.queue = asyncio.Queue()
    keys.type("着火x\x7f了\n")
    assert await caller.gather(MENU, a_call()) == Input(speech="着火了")
    assert await caller.gather(MENU, a_call()) is None, "timeout: silence"


def test_printer_shows_language_hold_and_the_seat() -> None:
    out = io.StringIO()
    printer = Printer(out, {"client:p01": "12345坐席01"})
    call = a_call()
    for kind, data in [("say", {"text": "您是下一位。", "language": "zh-CN", "menu": False}),
                       ("dial", {"to": ["client:p01"], "timeout": 20, "child": "CA2"}),
                       ("answered", {"endpoint": "client:p01", "ring": 2.0, "child": "CA2"}),
                       ("end", {"by": "caller", "duration": 42, "errors": []})]:
        printer(call, CallEvent(0.0, kind, data))
    assert out.getvalue().splitlines() == [
        "  [zh-CN] 您是下一位。",
        "  ringing p01 (12345坐席01) ...",
        "  p01 (12345坐席01) answered (rang 2 s) - talking; Ctrl-C hangs up",
        "Call ended after 42 s: you hung up."]


def read_until(fd: int, text: str, seconds: float = 20.0) -> str:
    seen = b""
    end = time.monotonic() + seconds
    while text.encode() not in seen:
        left = end - time.monotonic()
        assert left > 0, f"no {text!r} in {seen.decode(errors='replace')!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            seen += os.read(fd, 4096)
    return seen.decode(errors="replace")


def test_interactive_keypress_then_ctrl_c_hangs_up(redis_url: str) -> None:
    master, slave = os.openpty()
    env = {**os.environ, "IVR_REDIS_URL": redis_url, "IVR_CONFIG_DIR": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from ivr.phone.cli import call; call()", "12345"],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    try:
        read_until(master, "menu: press 1 key")
        os.write(master, b"1")
        read_until(master, "110 answered")
        proc.send_signal(signal.SIGINT)
        rest = read_until(master, "Call ended")
        assert "you hung up" in rest
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
