"""Export then import changes nothing; the CLI validates, exports and imports."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ivr.cli import main
from ivr.config import load
from ivr.core.config import split
from tests.conftest import ROOT


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*.yaml"))}


def test_export_import_export_is_identical(tmp_path: Path, redis_url: str, center: str,
                                           monkeypatch: object) -> None:
    env = {"IVR_REDIS_URL": redis_url, "IVR_CENTER": center, "IVR_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    first = runner.invoke(main, ["config", "import", str(ROOT)], env=env)
    assert first.exit_code == 0, first.output
    a, b = tmp_path / "a", tmp_path / "b"
    out = runner.invoke(main, ["config", "export", str(a)], env=env)
    assert out.exit_code == 0, out.output
    again = runner.invoke(main, ["config", "import", str(a)], env=env)
    assert again.exit_code == 0, again.output
    out = runner.invoke(main, ["config", "export", str(b)], env=env)
    assert out.exit_code == 0
    assert _tree(a) == _tree(b)
    assert len(_tree(a)) == 10  # plan, exclusions, five flows, queues, roster, hours
    # and the exported config means the same as the repository's
    assert split(load(a))[0] == split(load(ROOT))[0]


def test_validate_lists_every_problem(tmp_path: Path) -> None:
    import shutil

    for part in ("flows", "numbers", "seats"):
        shutil.copytree(ROOT / part, tmp_path / part)
    flow = tmp_path / "flows" / "dual-number.yaml"
    flow.write_text(flow.read_text(encoding="utf-8").replace("kind: queue", "kind: queue\n    queue: nope"),
                    encoding="utf-8")
    (tmp_path / "flows" / "bad.yaml").write_text(
        "id: bad\nstart: a\nnodes:\n  a: {kind: say, text: hi, next: b}\n"
        "  b: {kind: say, text: ho, next: a}\n"
        "  c: {kind: dance}\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["config", "validate", str(tmp_path)])
    assert res.exit_code == 1
    assert "flow bad node c" in res.output
    (tmp_path / "flows" / "bad.yaml").unlink()
    res = CliRunner().invoke(main, ["config", "validate", str(tmp_path)])
    assert "flow dual-number node to_pool field queue: queue 'nope' does not exist" in res.output


def test_loop_without_input_and_duplicate_key_are_errors(tmp_path: Path) -> None:
    import shutil

    for part in ("flows", "numbers", "seats"):
        shutil.copytree(ROOT / part, tmp_path / part)
    (tmp_path / "flows" / "loop.yaml").write_text(
        "id: loop\nstart: a\nnodes:\n  a: {kind: say, text: hi, next: b}\n"
        "  b: {kind: say, text: ho, next: a}\n",
        encoding="utf-8")
    res = CliRunner().invoke(main, ["config", "validate", str(tmp_path)])
    assert res.exit_code == 1
    assert "loops without caller input" in res.output
    (tmp_path / "flows" / "loop.yaml").write_text(
        "id: loop\nstart: a\nstart: b\nnodes: {}\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["config", "validate", str(tmp_path)])
    assert res.exit_code == 1
    assert "duplicate key 'start'" in res.output
