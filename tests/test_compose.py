"""Static checks of the production-like stack: docker-compose.yml, .env.example, Dockerfile.

Docker is not available where the test-suite runs, so no container is started here: these
tests parse the files and check the wiring (service names, URLs, health-gated start order,
loopback-only ports, credentials only through ``${VAR}`` from ``.env``) and that the images are
pinned to the Prefect and PostgreSQL versions the rest of the suite exercises natively.
See docs/deployment.md.
"""

from __future__ import annotations

import re
import shlex
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"

SERVICES = {"aimap-db", "prefect-db", "prefect-server", "aimap-worker"}

# ${VAR}, ${VAR:?msg}, ${VAR?msg}, ${VAR:-default}, ${VAR-default}, ${VAR:+alt}, ${VAR+alt}
VAR_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
# A bare $VAR (Compose accepts it, but this project always uses braces).
BARE_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# user:password@ inside a URL
URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]*)@")


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE)


def parse_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a KEY=VALUE line: {raw!r}"
        key = key.strip()
        assert key not in values, f"{path.name}: {key} defined twice"
        values[key] = value.strip()
    return values


def strings(node: Any) -> list[str]:
    """Every string (keys and values) in a parsed YAML tree."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in strings(k) + strings(v)]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def referenced_vars(text: str) -> set[str]:
    return {m.group(1) for m in VAR_REF.finditer(text.replace("$$", ""))}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose-style interpolation of ``${VAR...}`` (enough for this file)."""

    def repl(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        value = env.get(name)
        if op in (":?", "?"):
            assert value is not None and (value or op == "?"), f"{name} is required: {arg}"
            return value
        if op == ":-":
            return value or arg
        if op == "-":
            return arg if value is None else value
        assert op is None, f"unsupported operator {op!r} in {m.group(0)}"
        assert value is not None, f"{name} is not defined"
        return value

    return VAR_REF.sub(repl, text).replace("$$", "$")


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's ``environment`` as a dict, whether written as a mapping or a list."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def published_ports(service: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    """(host_ip, host_port, container_port) for each ``ports`` entry (short or long syntax)."""
    result: list[tuple[str | None, str, str]] = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            result.append((entry.get("host_ip"), str(entry.get("published")), str(entry["target"])))
            continue
        spec = str(entry).split("/")[0]
        if spec.startswith("["):  # [ipv6]:host:container
            host_ip, _, rest = spec[1:].partition("]:")
            host_port, _, container = rest.partition(":")
            result.append((host_ip, host_port, container))
            continue
        parts = spec.split(":")
        if len(parts) == 3:
            result.append((parts[0], parts[1], parts[2]))
        elif len(parts) == 2:
            result.append((None, parts[0], parts[1]))
        else:
            result.append((None, "", parts[0]))
    return result


def command_text(service: dict[str, Any]) -> str:
    cmd = service.get("command")
    return " ".join(cmd) if isinstance(cmd, list) else str(cmd)


def postgres_env(services: dict[str, dict[str, Any]], name: str, env: dict[str, str]) -> dict[str, str]:
    return {k: interpolate(v, env) for k, v in environment(services[name]).items()}


# --------------------------------------------------------------------------- services and ports


def test_the_four_services_exist(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == SERVICES


def test_published_ports_are_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert service.get("network_mode") != "host", f"{name} uses the host network"
        for host_ip, host_port, container_port in published_ports(service):
            assert host_ip == "127.0.0.1", (
                f"{name} publishes {host_port}:{container_port} on {host_ip or 'all interfaces'}"
            )

    assert published_ports(services["prefect-server"]) == [("127.0.0.1", "4200", "4200")]
    assert published_ports(services["aimap-db"]) == [("127.0.0.1", "5433", "5432")]
    assert published_ports(services["prefect-db"]) == []
    assert published_ports(services["aimap-worker"]) == []


def test_images_and_commands(services: dict[str, dict[str, Any]]) -> None:
    assert services["aimap-db"]["image"].startswith("postgres:")
    assert services["prefect-db"]["image"].startswith("postgres:")
    assert services["prefect-server"]["image"].startswith("prefecthq/prefect:3")
    assert command_text(services["prefect-server"]) == "prefect server start --host 0.0.0.0"
    assert environment(services["prefect-server"])["PREFECT_SERVER_API_HOST"] == "0.0.0.0"


def test_postgres_data_on_named_volumes(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    for name in ("aimap-db", "prefect-db"):
        volumes = services[name]["volumes"]
        named = [v.split(":")[0] for v in volumes if v.endswith(":/var/lib/postgresql/data")]
        assert len(named) == 1, f"{name}: no volume on /var/lib/postgresql/data"
        assert named[0] in compose["volumes"], f"{name}: {named[0]} is not a named volume"
    assert services["aimap-db"]["volumes"] != services["prefect-db"]["volumes"]


# --------------------------------------------------------------------------- wiring


def test_worker_database_url_points_at_aimap_db(
    services: dict[str, dict[str, Any]], env_example: dict[str, str]
) -> None:
    raw = environment(services["aimap-worker"])["DATABASE_URL"]
    assert raw == "postgresql+psycopg://${AIMAP_DB_USER}:${AIMAP_DB_PASSWORD}@aimap-db:5432/${AIMAP_DB_NAME}"

    url = make_url(interpolate(raw, env_example))
    db = postgres_env(services, "aimap-db", env_example)
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port) == ("aimap-db", 5432)
    assert (url.username, url.password, url.database) == (
        db["POSTGRES_USER"],
        db["POSTGRES_PASSWORD"],
        db["POSTGRES_DB"],
    )


def test_worker_talks_to_prefect_server_and_keeps_state_on_a_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    worker = services["aimap-worker"]
    env = environment(worker)
    assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert env["AIMAP_HOME"] == "/data/var"
    assert env["AIMAP_OUT"] == "/data/out"
    assert "aimap-data:/data" in worker["volumes"]
    assert "aimap-data" in compose["volumes"]


def test_worker_migrates_then_polls_aimap_pool(services: dict[str, dict[str, Any]]) -> None:
    cmd = services["aimap-worker"]["command"]
    assert cmd[:2] == ["sh", "-c"]
    steps = [shlex.split(step) for step in cmd[2].split("&&")]
    assert steps[0] == ["aimap", "db", "upgrade"]
    assert steps[1] == ["exec", "prefect", "worker", "start", "--pool", "aimap-pool", "--type", "process"]
    assert len(steps) == 2


def test_prefect_server_database_url_points_at_prefect_db(
    services: dict[str, dict[str, Any]], env_example: dict[str, str]
) -> None:
    raw = environment(services["prefect-server"])["PREFECT_API_DATABASE_CONNECTION_URL"]
    url = make_url(interpolate(raw, env_example))
    db = postgres_env(services, "prefect-db", env_example)
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port) == ("prefect-db", 5432)
    assert (url.username, url.password, url.database) == (
        db["POSTGRES_USER"],
        db["POSTGRES_PASSWORD"],
        db["POSTGRES_DB"],
    )
    # The two databases are separate services with separate credentials.
    aimap = postgres_env(services, "aimap-db", env_example)
    assert db["POSTGRES_PASSWORD"] != aimap["POSTGRES_PASSWORD"]


def test_start_order_waits_for_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    edges = {}
    for name, service in services.items():
        deps = service.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: depends_on must use the long form with a condition"
        for dep, spec in deps.items():
            assert spec == {"condition": "service_healthy"}, f"{name} -> {dep}: {spec}"
            test = (services[dep].get("healthcheck") or {}).get("test")
            assert test and test != ["NONE"], f"{dep} is depended on but has no healthcheck"
        edges[name] = set(deps)

    assert edges == {
        "aimap-db": set(),
        "prefect-db": set(),
        "prefect-server": {"prefect-db"},
        "aimap-worker": {"aimap-db", "prefect-server"},
    }


def test_healthchecks_probe_the_right_thing(services: dict[str, dict[str, Any]]) -> None:
    for name, user, db in (
        ("aimap-db", "${AIMAP_DB_USER}", "${AIMAP_DB_NAME}"),
        ("prefect-db", "${PREFECT_DB_USER}", "${PREFECT_DB_NAME}"),
    ):
        test = services[name]["healthcheck"]["test"]
        assert test[0] == "CMD-SHELL"
        assert shlex.split(test[1]) == ["pg_isready", "-h", "127.0.0.1", "-U", user, "-d", db]
    probe = " ".join(services["prefect-server"]["healthcheck"]["test"])
    assert "http://localhost:4200/api/health" in probe


# --------------------------------------------------------------------------- secrets and .env


def test_no_literal_secrets(compose: dict[str, Any]) -> None:
    checked = 0

    def walk(node: Any) -> None:
        nonlocal checked
        if isinstance(node, dict):
            for key, value in node.items():
                if "PASSWORD" in str(key).upper():
                    assert isinstance(value, str) and VAR_REF.fullmatch(value), f"{key}: {value!r}"
                    checked += 1
                walk(value)
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, str) and "=" in item:
                    key, _, value = item.partition("=")
                    if "PASSWORD" in key.upper():
                        assert VAR_REF.fullmatch(value), f"{key}: {value!r}"
                        checked += 1
                walk(item)

    walk(compose)
    assert checked == 2  # POSTGRES_PASSWORD of both databases

    url_passwords = [m.group(1) for s in strings(compose) for m in URL_PASSWORD.finditer(s)]
    assert url_passwords == ["${PREFECT_DB_PASSWORD}", "${AIMAP_DB_PASSWORD}"]


def test_every_variable_is_braced_and_defined_in_env_example(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    text = "\n".join(strings(compose))
    bare = set(BARE_REF.findall(text.replace("$$", "")))
    assert not bare, f"use ${{VAR}} instead of $VAR: {sorted(bare)}"

    used = referenced_vars(text)
    assert used == set(env_example), (
        f"missing from .env.example: {sorted(used - set(env_example))}; "
        f"unused in docker-compose.yml: {sorted(set(env_example) - used)}"
    )
    assert used == {
        "AIMAP_DB_USER",
        "AIMAP_DB_PASSWORD",
        "AIMAP_DB_NAME",
        "PREFECT_DB_USER",
        "PREFECT_DB_PASSWORD",
        "PREFECT_DB_NAME",
    }


def test_env_example_holds_placeholders_only(env_example: dict[str, str]) -> None:
    for key, value in env_example.items():
        assert value, f"{key} is empty in .env.example"
        if "PASSWORD" in key:
            assert "change-me" in value, f"{key} does not look like a placeholder: {value!r}"
            # Passwords go into URLs unescaped: keep them URL-safe.
            assert re.fullmatch(r"[A-Za-z0-9._~-]+", value), f"{key} is not URL-safe"
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert "cp .env.example .env" in text
    assert "never commit" in text.lower()


def test_dotenv_is_ignored_by_git_and_docker() -> None:
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in [line.strip() for line in gitignore]
    dockerignore = [
        line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    ]
    for entry in (".env", ".venv", ".git", "var", "out"):
        assert entry in dockerignore, f"{entry} missing from .dockerignore"


# --------------------------------------------------------------------------- image


def test_worker_build_context_has_a_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    build = services["aimap-worker"]["build"]
    context = ROOT / build["context"]
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    assert context.resolve() == ROOT
    assert dockerfile.is_file()


def test_dockerfile_installs_the_project_as_non_root() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    assert "WORKDIR /app" in instructions
    assert any(line.startswith("RUN pip install . ") for line in instructions)
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), f"runs as {users}"
    assert instructions[-1] == 'CMD ["aimap", "--help"]'


# --------------------------------------------------------------------------- versions


def test_prefect_versions_match_the_tested_one(services: dict[str, dict[str, Any]]) -> None:
    tested = version("prefect")
    assert services["prefect-server"]["image"] == f"prefecthq/prefect:{tested}-python3.11"
    pinned = re.search(r"^ARG PREFECT_VERSION=(\S+)$", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    assert pinned and pinned.group(1) == tested


def test_postgres_image_matches_the_tested_server(
    services: dict[str, dict[str, Any]], pg_admin: psycopg.Connection
) -> None:
    tested_major = pg_admin.info.server_version // 10000
    for name in ("aimap-db", "prefect-db"):
        assert services[name]["image"] == f"postgres:{tested_major}", name
