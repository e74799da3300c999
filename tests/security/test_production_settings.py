"""Item 7 (and issue 11's start checks): production refuses dev, short or malformed secrets.

Every refusal names the setting and never quotes a secret: not the bad one, not the good
ones next to it (pydantic's ValidationError used to print the whole input).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from ivr.settings import Settings
from tests.faults.servers import ROOT, free_port
from tests.security.conftest import IVR, PROD, PROD_SECRETS, IvrServe, clean_env

REAL = PROD_SECRETS["IVR_ADMIN_TOKEN"]


def windows(secret: str, n: int = 8) -> set[str]:
    """Every n-character piece of a secret."""
    return {secret[i:i + n] for i in range(len(secret) - n + 1)}


def leaked(text: str, env: dict[str, str]) -> list[str]:
    """Pieces of any secret of ``env`` that appear in ``text``."""
    secrets = [v for k, v in env.items() if k.endswith(("_TOKEN", "_SECRET")) and len(v) >= 8]
    return sorted({w for s in secrets for w in windows(s) if w in text})


BAD = [
    ("IVR_ADMIN_TOKEN", f"dev-admin-token,{REAL}"),
    ("IVR_ADMIN_TOKEN", f"{REAL},dev-admin-token"),
    ("IVR_ADMIN_TOKEN", f" {REAL}"),
    ("IVR_ADMIN_TOKEN", f"{REAL},"),
    ("IVR_ADMIN_TOKEN", f"{REAL},,{REAL[::-1]}"),
    ("IVR_ADMIN_TOKEN", "x"),
    ("IVR_ADMIN_TOKEN", REAL[:31]),
    ("IVR_ADMIN_TOKEN", "dev-admin-token" + REAL),
    ("IVR_ADMIN_TOKEN", "a" * 40),
    ("IVR_MONITOR_TOKEN", "dev-monitor-token"),
    ("IVR_MONITOR_TOKEN", f"{REAL[::-1]}, {REAL}"),
    ("IVR_METRICS_TOKEN", "scrape"),
    ("IVR_SEAT_SECRET", "s"),
    ("IVR_SEAT_SECRET", "dev-seat-secret-change-me"),
    ("IVR_TWILIO_AUTH_TOKEN", "dev-auth-token"),
    ("IVR_TWILIO_AUTH_TOKEN", "0f3a9c7e1b2d4f6a8c0e2b4d6f8a1c3"),  # 31 hex
    ("IVR_CALLBACK_FROM", ""),
    ("IVR_CALLBACK_FROM", "12345"),
    ("IVR_CALLBACK_FROM", "+8612345"),
    ("IVR_BACKUP_NUMBER", "+8612345000000"),
    ("IVR_BACKUP_NUMBER", "12345"),
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_production_refuses_the_setting_and_names_it_without_quoting_secrets(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    env = {**PROD, name: value}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValidationError) as info:
        Settings()
    text = f"{info.value}\n{info.value!r}"
    assert name in text
    assert leaked(text, env) == [], "a refusal quoted a secret"
    monkeypatch.setenv("IVR_ENV", "development")
    Settings()  # development keeps its defaults and takes what it is given


def test_a_good_production_config_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in PROD.items():
        monkeypatch.setenv(k, v)
    settings = Settings()
    assert settings.production_problems() == []
    monkeypatch.setenv("IVR_BACKUP_NUMBER", "sip:backup@gw.example.gov.cn")
    assert Settings().backup_number.startswith("sip:")


def test_tokens_file_entries_are_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dev_digest = hashlib.sha256(b"dev-admin-token").hexdigest()
    good_digest = hashlib.sha256(REAL.encode()).hexdigest()
    path = tmp_path / "tokens.yaml"
    path.write_text(f"""admin:
  - {{name: alice, sha256: "{good_digest}"}}
  - {{name: mallory, sha256: "{dev_digest}"}}
  - {{name: bob, token: "short-token"}}
  - {{name: carol, sha256: "abc"}}
  - {{name: dave}}
monitor:
  - {{name: wall, token: "{PROD_SECRETS['IVR_MONITOR_TOKEN']}"}}
admins: []
""", encoding="utf-8")
    for k, v in {**PROD, "IVR_TOKENS_FILE": str(path), "IVR_ADMIN_TOKEN": "",
                 "IVR_MONITOR_TOKEN": ""}.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValidationError) as info:
        Settings()
    text = str(info.value)
    for where in ("admin entry 2: sha256 is the digest of a development default",
                  "admin entry 3: token is under 32", "admin entry 4: sha256 is not 64 hex",
                  "admin entry 5: needs a sha256 or a token", "unknown role 'admins'"):
        assert where in text
    assert "entry 1" not in text
    assert "monitor entry" not in text
    assert "short-token" not in text
    assert leaked(text, PROD) == []


def run_until_exit(argv: list[str], env: dict[str, str],
                   timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a command that must fail to start; its output."""
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.mark.parametrize("entry", ["ivr serve", "uvicorn ivr.asgi:app"])
def test_the_real_service_refuses_to_start_and_prints_no_secret(
        service_settings: dict[str, str], entry: str) -> None:
    env = clean_env(**{**service_settings, **PROD, "IVR_ADMIN_TOKEN": f"dev-admin-token,{REAL}",
                       "IVR_MONITOR_TOKEN": " " + REAL[::-1]})
    argv = ([IVR, "serve", "--port", str(free_port())] if entry == "ivr serve" else
            [sys.executable, "-m", "uvicorn", "ivr.asgi:app", "--port", str(free_port())])
    out = run_until_exit(argv, env)
    text = out.stdout + out.stderr
    assert out.returncode != 0, text
    assert "IVR_ADMIN_TOKEN (token 1 of 2) contains a development default" in text
    assert "IVR_MONITOR_TOKEN contains spaces" in text
    assert leaked(text, env) == [], "the refusal printed a secret"
    if entry == "ivr serve":
        assert "Traceback" not in text, "a clean message, not a traceback"


def test_in_production_dev_tokens_do_not_open_anything(service_settings: dict[str, str],
                                                       serve: list[IvrServe], tmp_path: Path) -> None:
    server = IvrServe(clean_env(**service_settings, **PROD), tmp_path)
    serve.append(server.start())
    with httpx.Client(base_url=server.base, timeout=10) as c:
        for token in ("dev-admin-token", "dev-monitor-token", "x"):
            assert c.get("/api/lines", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        ok = c.get("/api/lines", headers={"Authorization": f"Bearer {PROD['IVR_ADMIN_TOKEN']}"})
        assert ok.status_code == 200
    assert leaked(server.log(), PROD) == []
