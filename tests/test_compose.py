"""docker-compose.yml agrees with the code: commands the CLI accepts, settings that exist, sane
broker and database choices. No Docker needed: the file is read as YAML."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from launcher.cli import build_parser
from shared.settings import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"

EXPECTED_SERVICES = {
    "postgres",
    "redis",
    "migrate",
    "intake",
    "staff",
    "routing-worker",
    "notify-worker",
    "sweeper",
}
PREFIX = "ADUAN_"
# Stand-ins for the variables compose requires with ${VAR:?message}.
REQUIRED_PLACEHOLDERS = {
    "ADUAN_SECRET_KEY": "test-secret-key-not-for-production-0123456789",
    "ADUAN_DATA_KEY": base64.urlsafe_b64encode(bytes(range(32))).decode(),
}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
POSTGRES_MAX_CONNECTIONS = 100


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def _app_services() -> dict[str, Any]:
    return {name: svc for name, svc in _services().items() if svc.get("build") == "."}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.partition("=") for item in env)
        return {key: value for key, _, value in pairs}
    return {str(key): str(value) for key, value in env.items()}


def _interpolate(value: str) -> str:
    """Substitute ${VAR}, ${VAR:-default} and ${VAR:?message} as compose would, with the
    required variables set to placeholders and everything else unset."""

    def substitute(match: re.Match[str]) -> str:
        name, op = match["name"], match["op"]
        if name in REQUIRED_PLACEHOLDERS:
            return REQUIRED_PLACEHOLDERS[name]
        if op in {"-", ":-"}:
            return match["arg"]
        raise AssertionError(f"{match[0]} in docker-compose.yml has neither a default nor a stand-in")

    result = INTERPOLATION.sub(substitute, value)
    assert "$" not in result, f"uninterpolated variable left in {result!r}"
    return result


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No ADUAN_* variable from the caller's environment leaks into the test."""
    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_expected_services_exist() -> None:
    assert set(_services()) >= EXPECTED_SERVICES


def test_every_app_service_command_parses() -> None:
    app_services = _app_services()
    assert set(app_services) >= EXPECTED_SERVICES - {"postgres", "redis"}
    for name, service in app_services.items():
        command = service.get("command")
        assert isinstance(command, list), f"{name}: command must be a list"
        assert all(isinstance(arg, str) for arg in command), f"{name}: {command!r}"
        try:
            args = build_parser().parse_args(command)
        except SystemExit as exc:  # argparse reports bad arguments by exiting
            pytest.fail(f"{name}: `aduan {' '.join(command)}` is rejected by the CLI ({exc})")
        assert callable(args.func), name


def test_redis_is_durable_and_never_evicts() -> None:
    command = _command(_services()["redis"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command


def test_postgres_is_at_least_15() -> None:
    image = _services()["postgres"]["image"]
    match = re.fullmatch(r"postgres:(\d+)(?:[.\-].*)?", image)
    assert match, f"postgres image {image!r} should pin a major version"
    assert int(match[1]) >= 15


def test_every_aduan_variable_is_a_setting() -> None:
    fields = set(Settings.model_fields)
    for name, service in _services().items():
        for variable in _environment(service):
            if variable.startswith(PREFIX):
                field = variable[len(PREFIX) :].lower()
                assert field in fields, f"{name}: {variable} is not a Settings field"


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in _services().items():
        if name == "migrate":  # one-shot
            continue
        healthcheck = service.get("healthcheck")
        assert healthcheck and healthcheck.get("test"), f"{name} has no healthcheck"
        test = healthcheck["test"]
        if test[:2] == ["CMD", "aduan"]:  # our own probe: a command the CLI accepts
            args = build_parser().parse_args(test[2:])
            assert callable(args.func), name


def test_app_services_wait_for_migration_and_broker() -> None:
    for name, service in _app_services().items():
        if name == "migrate":
            continue
        depends_on = service.get("depends_on") or {}
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["redis"]["condition"] == "service_healthy", name


def test_connection_pools_fit_postgres(clean_env: pytest.MonkeyPatch) -> None:
    """Worst case: every process holds pool_size + max_overflow connections at once."""
    total = 0
    for service in _app_services().values():
        with clean_env.context() as env:
            for key, value in _environment(service).items():
                env.setenv(key, _interpolate(value))
            settings = Settings()
        command = service["command"]
        if command[0] == "serve":
            processes = settings.api_workers
        elif command[0] == "worker":
            processes = settings.worker_concurrency + 1  # prefork children and their parent
        else:
            processes = 1
        total += processes * (settings.db_pool_size + settings.db_max_overflow)
    assert total < POSTGRES_MAX_CONNECTIONS, f"{total} connections at worst"


def test_intake_environment_is_a_valid_production_config(clean_env: pytest.MonkeyPatch) -> None:
    env = _environment(_services()["intake"])
    for key, value in env.items():
        clean_env.setenv(key, _interpolate(value))
    settings = load_settings()
    assert settings.embedded is False
    assert settings.sync_database_url().startswith("postgresql+psycopg://")
    assert settings.async_database_url().startswith("postgresql+asyncpg://")
    assert settings.resolved_broker_url().startswith("redis://")
    assert len(settings.data_key_bytes()) == 32


def test_missing_secret_key_outside_embedded_is_a_config_error(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("ADUAN_DATABASE_URL", "postgresql://aduan:aduan@postgres:5432/aduan")
    clean_env.setenv("ADUAN_DATA_KEY", REQUIRED_PLACEHOLDERS["ADUAN_DATA_KEY"])
    with pytest.raises(ConfigError, match="ADUAN_SECRET_KEY"):
        load_settings()


def test_channels_env_example_names_only_real_settings() -> None:
    """The example channel file that compose reads (as channels.env) names real settings only."""
    fields = set(Settings.model_fields)
    text = (ROOT / "channels.env.example").read_text()
    names = re.findall(r"^#?\s*(ADUAN_[A-Z0-9_]+)=", text, flags=re.MULTILINE)
    assert len(names) >= 10
    for name in names:
        assert name[len(PREFIX) :].lower() in fields, f"{name} is not a Settings field"
    app = _services()["notify-worker"]
    assert {"path": "./channels.env", "required": False} in app["env_file"]
