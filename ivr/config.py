"""The config on disk: the YAML folders ``flows/``, ``numbers/``, ``seats/``, and Redis.

Loads and checks the folders, writes them back, and moves them to and from a running
center's Redis (the CLI's ``export``/``import``). This is the I/O side of configuration;
the checks themselves are in ``ivr.core.config``.
YAML mappings with a key given twice are refused (PyYAML would keep the last one).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from redis.asyncio import Redis

from ivr.clock import SystemClock
from ivr.core.config import CenterConfig, build, dump, split
from ivr.core.errors import ConfigError, Problem
from ivr.core.flows import Flow
from ivr.core.numbers import NumberPlan
from ivr.core.roster import Roster
from ivr.core.speech import SpeechTable
from ivr.settings import Settings
from ivr.store.config import ConfigStore
from ivr.store.connection import make_client, open_server
from ivr.store.keys import Keys

SPEECH_FILE = "speech.yaml"  # numbers/speech.yaml: the speech table, not part of the number plan


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate mapping keys."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: Path) -> Any:
    """Parse one YAML file strictly; ConfigError names the file and line on failure."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(str(path), "", str(exc).replace("\n", " "))]) from exc


def _files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def _problems(where: str, exc: ValidationError) -> list[Problem]:
    return [
        Problem(where, ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
    ]


def read_raw(root: Path) -> dict[str, Any]:
    """The raw documents under ``root``: {"plan": {...}, "flows": {id: {...}}, "roster": {...}}."""
    plan: dict[str, Any] = {}
    for path in _files(root / "numbers"):
        if path.name != SPEECH_FILE:
            plan.update(load_yaml(path) or {})
    flows: dict[str, Any] = {}
    for path in _files(root / "flows"):
        doc = load_yaml(path) or {}
        fid = str(doc.get("id", path.stem)) if isinstance(doc, dict) else path.stem
        if fid in flows:
            raise ConfigError([Problem(f"flow {fid}", "id", f"defined twice ({path.name})")])
        flows[fid] = doc
    roster: dict[str, Any] = {"queues": [], "seats": [], "schedules": {}}
    for path in _files(root / "seats"):
        doc = load_yaml(path) or {}
        if not isinstance(doc, dict):
            continue
        for part in ("queues", "seats"):
            roster[part] += doc.get(part, [])
        roster["schedules"].update(doc.get("schedules", {}))
    return {"plan": plan, "flows": flows, "roster": roster}


def parse(raw: dict[str, Any]) -> CenterConfig:
    """Validate raw documents into a CenterConfig; ConfigError lists every problem."""
    problems: list[Problem] = []
    plan = roster = None
    flows: dict[str, Flow] = {}
    try:
        plan = NumberPlan.model_validate(raw["plan"])
    except ValidationError as exc:
        problems += _problems("numbers", exc)
    try:
        roster = Roster.model_validate(raw["roster"])
    except ValidationError as exc:
        problems += _problems("seats", exc)
    for fid, doc in raw["flows"].items():
        try:
            flows[fid] = Flow.model_validate(doc)
        except ValidationError as exc:
            problems += _flow_problems(fid, doc, exc)
    if problems or plan is None or roster is None:
        raise ConfigError(problems)
    version = hashlib.sha256(repr(sorted(raw.items())).encode()).hexdigest()[:12]
    return build(plan, flows, roster, version)


def _flow_problems(fid: str, doc: Any, exc: ValidationError) -> list[Problem]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        if len(loc) >= 2 and loc[0] == "nodes":
            where = f"flow {fid} node {loc[1]}"
            rest = loc[3:] if len(loc) > 2 and loc[2] in _KINDS else loc[2:]
            out.append(Problem(where, ".".join(rest), e["msg"]))
        else:
            out.append(Problem(f"flow {fid}", ".".join(loc), e["msg"]))
    return out


_KINDS = {"say", "play", "menu", "queue", "transfer", "goto", "hangup"}


def load(root: Path) -> CenterConfig:
    """Read and validate the config folders under ``root``."""
    cfg = parse(read_raw(root))
    cfg.speech = load_speech(root)
    return cfg


def load_speech(root: Path) -> SpeechTable:
    """The speech table of ``numbers/speech.yaml`` (the built-in one when the file is absent)."""
    path = root / "numbers" / SPEECH_FILE
    if not path.exists():
        return SpeechTable.standard()
    try:
        return SpeechTable.model_validate(load_yaml(path) or {})
    except ValidationError as exc:
        raise ConfigError(_problems(f"numbers/{SPEECH_FILE}", exc)) from exc


HEADER = ("# Exported by `ivr config export`. The options are documented in the files of\n"
          "# the same name in the project's repository ({doc}).\n")


def _write(path: Path, doc: Any, note: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(HEADER.format(doc=note) + text, encoding="utf-8")


def dump_dir(cfg: CenterConfig, root: Path) -> list[Path]:
    """Write a config as the ``numbers/``, ``flows/``, ``seats/`` layout; returns the files."""
    res, _ = split(cfg)
    written = []
    plan = {**res["plan"]["plan"], "lines": list(res["lines"].values()), "targets": res["targets"]}
    written.append(root / "numbers" / "plan.yaml")
    _write(written[-1], plan, "numbers/plan.yaml")
    written.append(root / "numbers" / "exclusions.yaml")
    _write(written[-1], {"exclusions": res["exclusions"]}, "numbers/exclusions.yaml")
    written.append(root / "seats" / "hours.yaml")
    _write(written[-1], {"schedules": res["schedules"]}, "seats/hours.yaml")
    for fid in sorted(cfg.flows.current):
        written.append(root / "flows" / f"{fid}.yaml")
        _write(written[-1], dump(cfg.flows.latest(fid)), "flows/entry-12345.yaml")
    written.append(root / "seats" / "queues.yaml")
    _write(written[-1], {"queues": list(res["queues"].values())}, "seats/queues.yaml")
    written.append(root / "seats" / "roster.yaml")
    _write(written[-1], {"seats": list(res["seats"].values())}, "seats/roster.yaml")
    return written


async def _with_store(settings: Settings) -> tuple[ConfigStore, Redis, object]:
    server = open_server(settings.redis_url, settings.data_dir)
    redis = make_client(server.url, settings)
    return ConfigStore(redis, Keys(settings.center), SystemClock()), redis, server


async def export_config(settings: Settings, root: Path) -> list[Path]:
    """Write the center's stored config (published flows) under ``root``."""
    store, redis, server = await _with_store(settings)
    try:
        if await store.is_empty():
            raise LookupError(f"center {settings.center!r} has no config in Redis yet")
        return dump_dir(await store.load(), root)
    finally:
        await redis.aclose()
        server.close()  # type: ignore[attr-defined]


async def import_config(settings: Settings, root: Path, who: str = "cli") -> str:
    """Validate the folders under ``root`` and replace the stored config; returns the version."""
    cfg = load(root)
    store, redis, server = await _with_store(settings)
    try:
        return await store.seed(cfg, who=who, message=f"imported from {root}")
    finally:
        await redis.aclose()
        server.close()  # type: ignore[attr-defined]
