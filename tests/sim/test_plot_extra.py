"""matplotlib is an optional extra: ``--plot`` without it says how to install it, at once."""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.sim.cli import simulate
from tests.sim.conftest import ROOT


def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    env = {"IVR_REDIS_URL": "redis://127.0.0.1:1/0", "IVR_CONFIG_DIR": str(ROOT)}
    started = time.monotonic()
    result = CliRunner().invoke(simulate, [
        "--single-queue", "2", "--rate", "12345=60", "--hours", "8", "--quiet",
        "--plot", str(tmp_path / "day.png")], env=env)
    assert result.exit_code == 2, result.output
    assert "pip install 'ivr12345[plot]'" in result.output
    assert time.monotonic() - started < 5  # refused before eight simulated hours
    assert not (tmp_path / "day.png").exists()


def test_matplotlib_is_an_extra_not_a_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("matplotlib") for d in project["dependencies"])
    assert any(d.startswith("matplotlib") for d in project["optional-dependencies"]["plot"])
    dev = project["optional-dependencies"]["dev"]
    assert "ivr12345[plot]" in dev
    assert any(d.startswith("hypothesis") for d in dev)
