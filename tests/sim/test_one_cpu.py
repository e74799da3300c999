"""A simulation and its throwaway Redis share one CPU (``ivr.phone.service.sharing_one_cpu``)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import redis

import ivr.sim.seeds as seeds_module
from ivr.phone.service import current_cpu, scratch_redis, sharing_one_cpu
from ivr.settings import Settings
from ivr.sim.cli import run_simulation
from ivr.sim.scenario import Scenario, textbook_config

ALLOWED = os.sched_getaffinity(0)


def test_this_process_knows_the_cpu_it_runs_on() -> None:
    assert current_cpu() in ALLOWED


def test_both_processes_keep_to_one_cpu_inside_and_ours_is_given_back() -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        cpu = max(ALLOWED)
        with sharing_one_cpu(other.pid, cpu) as chosen:
            if len(ALLOWED) < 2:  # nothing to share: nothing is moved
                assert chosen is None
                assert os.sched_getaffinity(other.pid) == ALLOWED
            else:
                assert chosen == cpu
                assert os.sched_getaffinity(0) == {cpu}
                assert os.sched_getaffinity(other.pid) == {cpu}
        assert os.sched_getaffinity(0) == ALLOWED
    finally:
        other.kill()
        other.wait()


def test_a_cpu_this_process_may_not_use_is_not_chosen() -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with sharing_one_cpu(other.pid, cpu=10_000) as chosen:
            assert chosen is None or chosen in ALLOWED
    finally:
        other.kill()
        other.wait()
    assert os.sched_getaffinity(0) == ALLOWED


def test_an_embedded_redis_runs_on_our_cpu_a_configured_one_is_left_alone(redis_url: str) -> None:
    with scratch_redis(None, one_cpu=True) as url:
        client = redis.Redis.from_url(url)
        pid = int(client.info("server")["process_id"])
        client.close()
        mine = os.sched_getaffinity(0)
        assert os.sched_getaffinity(pid) == mine
        assert len(mine) == (1 if len(ALLOWED) > 1 else len(ALLOWED))
    assert os.sched_getaffinity(0) == ALLOWED
    with scratch_redis(redis_url, one_cpu=True) as url:
        assert url == redis_url
        assert os.sched_getaffinity(0) == ALLOWED


def test_seed_workers_take_the_cpus_in_turn() -> None:
    counter = multiprocessing.get_context("spawn").Value("i", 0)
    cpus = [3, 5]
    taken = []
    for _ in range(3):
        seeds_module._take_cpu(counter, cpus)
        taken.append(seeds_module._worker_cpu)
    seeds_module._worker_cpu = None
    assert taken == [3, 5, 3]


def test_a_short_run_on_one_cpu_checks_out_and_gives_the_cpus_back(tmp_path: Path) -> None:
    settings = Settings(redis_url=None, data_dir=tmp_path)
    scenario = Scenario(rates={"12345": 200.0}, hours=0.1, seed=3, warmup=0.0)
    result = run_simulation(scenario, textbook_config(5, 120.0), settings, one_cpu=True)
    assert result.records
    assert not result.problems
    assert os.sched_getaffinity(0) == ALLOWED
