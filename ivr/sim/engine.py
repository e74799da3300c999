"""The discrete-event simulation: the real app, its real Lua ACD, a virtual clock.

The app runs in this process (``create_app`` with a ``ManualClock``, no background
sweeper) on a scratch center. Callers arrive as Poisson streams per line; each call is
a :class:`~ivr.phone.call.CallSession` that speaks Twilio's webhook protocol to the
app (signed requests; the ASGI app is called directly unless ``transport="httpx"``),
stays silent at menus, and hangs up when its exponential patience runs out. Every seat
of the roster is a :class:`~ivr.phone.seats.SeatAgent` that logs in through the seat
API and answers its ``<Dial>``. The :class:`~ivr.phone.runtime.VirtualTime` kernel
handles one wake-up at a time. After each, in one Redis round trip, the simulator looks
up the ACD's next due timer (so that ``sweep_once`` runs exactly then) and probes work
conservation (:class:`~ivr.sim.checks.Checker`); the Redis-wide checks run every
``check_every`` simulated seconds. Arrivals stop at the horizon; calls still in
progress then run to their end (for at most ``DRAIN`` seconds).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ivr.clock import ManualClock
from ivr.core.config import CenterConfig
from ivr.phone.call import SPOKEN, CallEvent, CallSession, CallSpec
from ivr.phone.callers import SilentCaller
from ivr.phone.runtime import VirtualTime
from ivr.phone.seats import Behaviour, SeatAgent, exponential, lognormal
from ivr.phone.service import LocalService, local_service
from ivr.phone.switchboard import Switchboard
from ivr.phone.transport import InspectingTransport, Reply, split_url
from ivr.settings import Settings
from ivr.sim.checks import Checker
from ivr.sim.costs import Costs, TimedSweeper, TimedTransport
from ivr.sim.recorder import KINDS, Recorder
from ivr.sim.result import Sample, SimResult
from ivr.sim.scenario import Scenario, arrival_times
from ivr.sim.wire import Wire, WireReader, pack, pairs, pipelines

START = 1_799_596_800.0  # Monday 11 January 2027, 00:00 in Beijing: hour 0 of the profile
DRAIN = 6 * 3600.0  # after the horizon, calls get this long to end before they hang up
EVENT_KINDS = KINDS | {"request"}  # the call events the recorder and the request counts read


@dataclass
class Simulation:
    """One run of a scenario against the real app (see the module docstring)."""

    scenario: Scenario
    config: CenterConfig
    settings: Settings
    transport: str = "asgi"
    progress: Callable[[float], None] | None = None
    sample_every: float = 60.0
    dialect: str = "twilio"  # the platform the callers come in on: twilio or jambonz
    # sees every request's URL and the service's reply (tests lint each document with it)
    inspect: Callable[[str, Reply], None] | None = None

    async def run(self) -> SimResult:
        """Run the scenario to its horizon and until every call has ended."""
        wall, cpu = time.perf_counter(), time.process_time()
        clock = ManualClock(START)
        async with local_service(self.settings, clock=clock, config=self.config, sweeper=False,
                                 direct=self.transport == "asgi") as ls:
            redis = ls.svc.store().redis
            pipe, wire = pipelines(redis, self.settings.redis_timeout_seconds)
            try:
                redis_cpu = await _redis_cpu(redis)
                run = _Run(self, ls, VirtualTime(clock), pipe,
                           WireReader(wire) if wire is not None else None, wire)
                await run.go()
                result = run.result(time.perf_counter() - wall, time.process_time() - cpu)
                after = await _redis_cpu(redis)
                if redis_cpu is not None and after is not None:
                    result.redis_cpu_seconds = after - redis_cpu
                return result
            finally:
                if wire is not None:
                    wire.close()


async def _redis_cpu(redis: Any) -> float | None:
    """CPU seconds the Redis server has used (``INFO cpu``); None when not known."""
    try:
        info = await redis.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])
    except (KeyError, TypeError, ValueError):  # a cluster answers per node
        return None


def behaviour(s: Scenario) -> Behaviour:
    """How the scenario's operators handle calls."""
    talk = lognormal(s.aht, s.handle_cv) if s.handle == "lognormal" else exponential(s.aht)
    return Behaviour(talk=talk, ring_seconds=s.ring_seconds, no_answer=s.no_answer,
                     back_after_miss=s.back_after_miss)


@dataclass
class _Run:
    """The state of one run."""

    sim: Simulation
    ls: LocalService
    rt: VirtualTime
    pipe: Callable[[], Any]  # the simulator's own reads: a pipeline (ivr.sim.wire)
    reader: WireReader | None  # the full checks' one-key reads (None: through redis-py)
    wire: Wire | None = None  # the connection under both, if they have one
    board: Switchboard = field(default_factory=Switchboard)
    sessions: dict[str, CallSession] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    prefixes: Counter[str] = field(default_factory=Counter)
    costs: Costs = field(default_factory=Costs)

    def __post_init__(self) -> None:
        s, roster = self.sim.scenario, self.sim.config.roster
        self.end = START + s.hours * 3600.0
        inner = self.ls.transport
        if self.sim.inspect is not None:
            inner = InspectingTransport(inner, self.sim.inspect)
        self.counted = TimedTransport(inner)
        self.ls.transport = self.counted
        self.twilio = self.ls.platform(self.sim.dialect)
        self.sweeper = TimedSweeper(self.ls.svc, self.rt)
        self.agents: dict[str, SeatAgent] = {}
        for seat in roster.seats:
            wrap = max(roster.queue(q).wrapup_seconds for q in seat.queues)
            agent = SeatAgent(seat.id, self.ls.seats, self.rt, behaviour(s),
                              s.rng("seat", seat.id), seat.queues, wrap)
            self.board.register(seat.endpoint, agent)
            self.agents[seat.endpoint] = agent
        targets = {(t.dial or t.number): name for name, t in self.sim.config.plan.targets.items()}
        self.recorder = Recorder(self._seat_queue,
                                 lambda q: int(roster.queue(q).sl_seconds * 1000), targets)
        self.checker = Checker(self.ls.svc, self.sim.config, self.recorder, self.agents,
                               {seat.id: seat for seat in roster.seats}, START,
                               float(self.sim.settings.call_retention_seconds), self.pipe,
                               self.reader)
        # the look-up of the next due timer, packed once (ivr.phone.service.TimerSweeper.peek)
        self.peek = pack(("ZRANGE", self.ls.svc.store().keys.timers(), 0, 0, "WITHSCORES"))
        self.patience = s.rng("patience")
        self.serial = 0
        self.seen = (-1, -1)
        self.next_check = START + s.check_every
        self.next_sample = START
        self.last_progress = START

    def _seat_queue(self, endpoint: str) -> str:
        agent = self.agents.get(endpoint)
        return agent.queues[0] if agent and agent.queues else ""

    def _count(self, call: CallSession, e: CallEvent) -> None:
        if e.kind == "request":
            self.requests[e.data["what"]] += 1
            self.prefixes["/" + split_url(e.data["url"]).path.split("/")[1]] += 1

    async def _login_all(self) -> None:
        for agent in self.agents.values():
            await agent.login()

    def _arrive(self, line: str, times: Iterator[float]) -> None:
        s = self.sim.scenario
        self.serial += 1
        sid = f"CA{s.seed % (1 << 32):08x}{self.serial:024x}"
        patience = self.patience.expovariate(1.0 / s.patience) if s.patience else None
        prefix = self.twilio.prefix  # /voice (Twilio) or /jambonz
        spec = CallSpec(line, f"+86138{self.serial % 10**8:08d}",
                        self.ls.url(prefix + "/incoming"), self.ls.url(prefix + "/status"))
        call = CallSession(spec, self.twilio, self.rt, SilentCaller(), self.board,
                           self.ls.control, SPOKEN, [self.recorder, self._count], sid=sid,
                           kinds=EVENT_KINDS)
        self.recorder.add(sid, line, self.rt.now(), patience)
        self.sessions[sid] = call
        self.rt.spawn(self._run_call(call))
        self._schedule(line, times)

    async def _run_call(self, call: CallSession) -> None:
        try:
            await call.run()
        finally:
            self.sessions.pop(call.sid, None)

    def _schedule(self, line: str, times: Iterator[float]) -> None:
        nxt = next(times, None)
        if nxt is not None:
            self.rt.call_later(nxt - self.rt.now(), lambda: self._arrive(line, times))

    def _sample_tick(self) -> None:  # an event on the sampling grid
        if self.rt.now() + self.sim.sample_every <= self.end:
            self.rt.call_later(self.sim.sample_every, self._sample_tick)

    async def _sample(self, now: float) -> None:
        acd = self.ls.svc.store()
        queues = [q.id for q in self.sim.config.roster.queues]
        pipe = self.pipe()
        for q in queues:
            pipe.smembers(acd.keys.wskills(q))
        sets = [(q, sk) for q, skills in zip(queues, await pipe.execute(), strict=True)
                for sk in sorted(skills)]
        for q, sk in sets:
            pipe.zcard(acd.keys.wait(q, sk))
        waiting: Counter[str] = Counter()
        for (q, _), n in zip(sets, await pipe.execute(), strict=True):
            waiting[q] += n
        busy = Counter(a.queues[0] for a in self.agents.values()
                       if a.logged and not a.available(now))
        self.samples.append(Sample(now - START, dict(waiting), dict(busy)))

    def _changed(self) -> bool:
        return (self.counted.count, self.sweeper.sweeps) != self.seen

    async def _before(self, t: float) -> None:
        """Before the clock moves on: if Redis changed since the last look, the next timer."""
        if self._changed():
            with self.costs.part("timer look-ups"):
                if self.wire is not None:
                    self.sweeper.saw(pairs(self.wire.call_packed(self.peek, 1)[0]))
                else:
                    pipe = self.pipe()
                    self.sweeper.peek(pipe)
                    self.sweeper.saw((await pipe.execute())[0])
                self.seen = (self.counted.count, self.sweeper.sweeps)

    async def _after(self) -> None:
        """After each wake-up: work conservation, then samples, checks and progress.

        The work-conservation reads and, if Redis changed, the look-up of the next timer
        share one pipelined round trip.
        """
        now = self.rt.now()
        pipe = self.pipe()
        judge = self.checker.probe(now, pipe, (self.counted.count, self.sweeper.sweeps))
        if judge is not None:  # (timed only then: two clock reads an event add up)
            with self.costs.part("work-conservation probes"):
                peek = self._changed()
                if peek:
                    self.sweeper.peek(pipe)
                    self.seen = (self.counted.count, self.sweeper.sweeps)
                got = await pipe.execute()
                if peek:
                    self.sweeper.saw(got.pop())
                await judge(got)
        if self.next_sample <= now <= self.end:
            with self.costs.part("samples"):
                await self._sample(now)
            self.next_sample += self.sim.sample_every
        if now >= self.next_check:
            with self.costs.part("full checks"):
                await self.checker.checkpoint(now)
            self.next_check += self.sim.scenario.check_every
        if self.sim.progress is not None and now - self.last_progress >= 60.0:
            self.sim.progress(min(now, self.end) - START)
            self.last_progress = now

    async def go(self) -> None:
        """Log in, let the callers come until the horizon, drain, check."""
        s = self.sim.scenario
        self.rt.spawn(self._login_all())
        await self.rt.settle()
        await self.checker.checkpoint(self.rt.now())
        for line, rate in s.rates.items():
            self._schedule(line, arrival_times(rate, s.profile, START, self.end,
                                               s.rng("arrivals", line)))
        self._sample_tick()
        await self.rt.run_until(self.end, self._after, self._before)
        await self.rt.run_until(self.end + DRAIN, self._after, self._before)
        for call in list(self.sessions.values()):
            call.hang_up()
        await self.rt.run_until(None, self._after, self._before)
        with self.costs.part("full checks"):
            await self.checker.checkpoint(self.rt.now())
        self.rt.cancel_all()
        if self.sim.progress is not None:
            self.sim.progress(self.end - START)

    def result(self, wall: float, cpu: float) -> SimResult:
        """What the run produced.

        ``costs`` and ``cpu_costs``: wall and CPU seconds by part (``ivr.sim.costs``); the
        service's share is its own handling of the webhooks, seat API requests and sweeps
        with their Redis round trips.
        """
        costs, cpu_costs = self.costs.table(
            (self.counted.seconds + self.sweeper.seconds, self.counted.cpu + self.sweeper.cpu),
            (wall, cpu))
        problems = self.checker.problems + [v for a in self.agents.values() for v in a.violations]
        return SimResult(self.sim.scenario, self.sim.config, list(self.recorder.records.values()),
                         list(self.agents.values()), problems, self.samples, START, self.end,
                         wall, self.rt.events, self.sweeper.sweeps, sum(self.requests.values()),
                         self.checker.full_checks, self.checker.verified,
                         costs, dict(self.prefixes), cpu, cpu_costs=cpu_costs)
