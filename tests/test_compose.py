"""The production stack (docker-compose.yml, docker/), checked without a Docker engine.

Debian's docker-compose (scripts/install-docker-compose) checks the file as `docker compose up`
would read it, and supplies the Compose specification's JSON schema; the rest reads the files
and the project, so that what the containers run matches what the tests run.
"""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence

import jsonschema
import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from tests.compose_files import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    INTERPOLATION,
    MIB,
    NGINX_CONF,
    POSTGRES_INIT,
    RASA_IMAGE,
    SECRET_NAME,
    bind_mounts,
    copy_sources,
    dockerfile_instructions,
    environment_of,
    measured_peak_memory,
    resource_limits,
    sent_to_docker,
    size_in_bytes,
    tmpfs_mounts,
)
from tests.helpers import PROJECT_ROOT
from tests.live_bot import free_port

ACTIONS_DOCKERFILE = PROJECT_ROOT / "docker" / "actions" / "Dockerfile"
ACTIONS_REQUIREMENTS = PROJECT_ROOT / "docker" / "actions" / "requirements.txt"
# The Rasa server's image: compose builds its first stage (`runtime`), Kubernetes all of it.
RASA_DOCKERFILE = PROJECT_ROOT / "docker" / "rasa" / "Dockerfile"
RASA_RUNTIME_STAGE = "runtime"
RASA_START = PROJECT_ROOT / "docker" / "rasa" / "start.sh"
CONSTRAINTS = PROJECT_ROOT / "constraints.txt"
MAKEFILE = PROJECT_ROOT / "Makefile"
INSTALL_SCRIPT = "scripts/install-docker-compose"
COMPOSE_SCHEMA = Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")

ACTIONS_BASE_IMAGE = "rasa/rasa-sdk:3.6.2"
REQUIRED_SECRETS = (
    "POSTGRES_PASSWORD",
    "KNOWLEDGE_DB_PASSWORD",
    "KNOWLEDGE_READER_PASSWORD",
    "RASA_DB_PASSWORD",
    "FEEDBACK_DB_PASSWORD",
    "REDIS_PASSWORD",
    "ACTION_SERVER_TOKEN",
    "WIDGET_SESSION_SECRET",
    "REST_API_TOKEN",
)
# Which services each secret is given to: each only where it is used.
SECRETS_GIVEN_TO = {
    "POSTGRES_PASSWORD": {"postgres"},
    "KNOWLEDGE_DB_PASSWORD": {"postgres", "knowledge-loader"},
    "KNOWLEDGE_READER_PASSWORD": {"postgres", "action-server"},
    "RASA_DB_PASSWORD": {"postgres", "rasa"},
    "FEEDBACK_DB_PASSWORD": {"postgres", "action-server", "rasa"},
    "REDIS_PASSWORD": {"redis", "rasa"},
    "ACTION_SERVER_TOKEN": {"action-server", "rasa"},
    "WIDGET_SESSION_SECRET": {"rasa"},
    "REST_API_TOKEN": {"rasa"},
}
LONG_RUNNING = {"postgres", "redis", "action-server", "rasa", "web"}
ONE_SHOT = {"knowledge-loader"}
# The Linux capabilities each service keeps (all others are dropped): those its image's
# entrypoint needs as root before it becomes the image's own user.
CAPABILITIES = {
    "postgres": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"},
    "web": {"CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"},
    "redis": set(),
    "knowledge-loader": set(),
    "action-server": set(),
    "rasa": set(),
}
# Where each service may write, its root filesystem being read-only (PostgreSQL's data are in
# its volume).
SCRATCH_FOLDERS = {
    "postgres": {"/var/run/postgresql", "/tmp"},
    "redis": {"/run/redis", "/data"},
    "knowledge-loader": {"/tmp"},
    "action-server": {"/tmp"},
    "rasa": {"/tmp"},
    "web": {"/var/cache/nginx", "/var/run", "/tmp"},
}
# Folders that `make` fills rather than git holds: {folder: (make target, the Makefile variable
# naming the file it builds there)}. `make train` writes the model; `make web` runs `npm ci`.
BUILT_BY_MAKE = {"models": ("train", "MODEL"), "web/node_modules": ("web", "WEB_PACKAGES")}


# ---------------------------------------------------------------------------------------------
# Reading the files


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml as written (before `${...}` is filled in)."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def pins(path: Path) -> dict[str, str]:
    """{canonical name: version} for every `name==version` line of a requirements file."""
    from packaging.utils import canonicalize_name  # here: importing it warns, and tests filter warnings

    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, separator, version = line.partition("==")
            assert separator and version, f"{path.name}: {line!r} is not pinned with =="
            found[canonicalize_name(name)] = version.strip()
    return found


def dockerfile_stages(path: Path) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(base image or stage, stage name or "", the stage's other instructions) for each FROM."""
    stages: list[tuple[str, str, list[tuple[str, str]]]] = []
    for instruction, arguments in dockerfile_instructions(path):
        if instruction == "FROM":
            base, _, name = re.sub(r"\s+as\s+", " AS ", arguments, flags=re.IGNORECASE).partition(" AS ")
            stages.append((base.strip(), name.strip(), []))
        else:
            assert stages, f"{path.name}: {instruction} before FROM"
            stages[-1][2].append((instruction, arguments))
    return stages


def rasa_runtime_stage() -> tuple[str, list[tuple[str, str]]]:
    """(its base image, its instructions): the stage of docker/rasa/Dockerfile compose runs."""
    found = [
        (base, steps)
        for base, name, steps in dockerfile_stages(RASA_DOCKERFILE)
        if name == RASA_RUNTIME_STAGE
    ]
    assert len(found) == 1, f"docker/rasa/Dockerfile has no single stage named {RASA_RUNTIME_STAGE}"
    return found[0]


def rasa_runtime_pins() -> dict[str, str]:
    """{canonical name: version} that the runtime stage's `pip install` adds to rasa/rasa; every
    package pinned with ==, and installed without its dependencies (Rasa's own stay as they are)."""
    from packaging.utils import canonicalize_name

    found = {}
    for instruction, arguments in rasa_runtime_stage()[1]:
        if instruction == "RUN" and "pip install" in arguments:
            words = shlex.split(arguments)
            assert "--no-deps" in words, arguments
            for word in words[words.index("install") + 1 :]:
                if not word.startswith("-"):
                    name, separator, version = word.partition("==")
                    assert separator and version, f"docker/rasa/Dockerfile: {word!r} is not pinned with =="
                    found[canonicalize_name(name)] = version
    return found


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """{service it waits for: condition}; a plain list means `service_started`."""
    waits = service.get("depends_on") or {}
    if isinstance(waits, list):
        return {name: "service_started" for name in waits}
    return {name: settings["condition"] for name, settings in waits.items()}


def makefile_variable(name: str) -> str:
    match = re.search(rf"^{name}\s*:?=\s*(.+)$", MAKEFILE.read_text(), re.MULTILINE)
    assert match, f"the Makefile no longer defines {name}"
    return match.group(1).strip()


# ---------------------------------------------------------------------------------------------
# docker-compose itself


@pytest.fixture(scope="module")
def docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail(f"docker-compose is not on the PATH: run {INSTALL_SCRIPT} (it installs Debian's).")
    return found


def run_compose(
    docker_compose: str, tmp_path: Path, environment: dict[str, str], *arguments: str
) -> subprocess.CompletedProcess:
    """`docker-compose ARGUMENTS` on the project's file, seeing only `environment`: no .env of the
    person running the tests, and none of their shell's variables."""
    no_dotenv = tmp_path / "empty.env"
    no_dotenv.write_text("")
    return subprocess.run(
        [docker_compose, "--env-file", str(no_dotenv), "--file", str(COMPOSE_FILE), *arguments],
        cwd=tmp_path,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )


def dummy(name: str) -> str:
    """A stand-in value for a variable, made of letters only, as URLs need."""
    return f"dummy{name.lower().replace('_', '')}"


def dummy_secrets() -> dict[str, str]:
    return {name: dummy(name) for name in REQUIRED_SECRETS}


@pytest.fixture(scope="module")
def resolved(docker_compose: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The services as `docker compose up` would run them, every secret set to its dummy value."""
    result = run_compose(docker_compose, tmp_path_factory.mktemp("compose"), dummy_secrets(), "config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def as_run(word: str) -> str:
    """A word of a rendered command as the container gets it: `config` prints a literal $ as $$."""
    return word.replace("$$", "$")


def test_docker_compose_accepts_the_file_once_every_password_is_set(
    docker_compose: str, tmp_path: Path
) -> None:
    result = run_compose(docker_compose, tmp_path, dummy_secrets(), "config")
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    rasa = environment_of(resolved["rasa"])
    assert rasa["TRACKER_STORE_URL"] == "postgresql://rasa:dummyrasadbpassword@postgres:5432/rasa"
    assert rasa["LOCK_STORE_URL"] == "redis://:dummyredispassword@redis:6379/0"
    assert rasa["SLACK_BOT_TOKEN"] == ""  # chat apps stay off unless configured
    assert resolved["web"]["ports"][0]["published"] in (8080, "8080")


@pytest.mark.parametrize("how", ["unset", "empty"])
@pytest.mark.parametrize("name", REQUIRED_SECRETS)
def test_docker_compose_refuses_to_start_without_each_password_and_token(
    docker_compose: str, tmp_path: Path, name: str, how: str
) -> None:
    environment = dummy_secrets()
    if how == "unset":
        del environment[name]
    else:
        environment[name] = ""
    result = run_compose(docker_compose, tmp_path, environment, "config", "--quiet")
    assert result.returncode != 0
    assert f"set {name} in .env" in result.stderr, result.stderr


def test_the_example_settings_name_every_variable_and_hold_no_secret(
    docker_compose: str, tmp_path: Path
) -> None:
    """deploy.env.example is the list of settings, each said what it is for: copied unchanged to
    .env, the stack refuses to start until the passwords and tokens are filled in."""
    used = {match["name"] for match in INTERPOLATION.finditer(COMPOSE_FILE.read_text())}
    example = {}
    previous = ""
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            example[name.strip()] = value.strip()
            # A comment above it, or above the group of settings it is in.
            assert previous.startswith("#") or previous in example, f"{name}: no comment says what it is"
            previous = name.strip()
        else:
            previous = line.strip()
    assert set(example) == used
    assert {name: value for name, value in example.items() if SECRET_NAME.search(name) and value} == {}

    result = subprocess.run(
        [docker_compose, "--env-file", str(ENV_EXAMPLE), "--file", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=tmp_path,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "in .env" in result.stderr


def test_the_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    if not COMPOSE_SCHEMA.exists():
        pytest.fail(f"No Compose schema at {COMPOSE_SCHEMA}: run {INSTALL_SCRIPT} (Debian's docker-compose).")
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    jsonschema.Draft201909Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft201909Validator(schema).iter_errors(compose), key=str)
    assert not errors, [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in errors]


# ---------------------------------------------------------------------------------------------
# Images


def test_every_image_is_pinned_to_an_exact_version(services: dict[str, dict[str, Any]]) -> None:
    """The same images on every machine and every day: no `latest`, no bare major version."""
    assert services["rasa"]["build"] == {"context": "./docker/rasa", "dockerfile": "Dockerfile",
                                         "target": RASA_RUNTIME_STAGE}  # fmt: skip
    assert (PROJECT_ROOT / services["rasa"]["build"]["context"] / "Dockerfile").resolve() == RASA_DOCKERFILE
    assert rasa_runtime_stage()[0] == RASA_IMAGE
    assert dockerfile_stages(RASA_DOCKERFILE)[0][0] == RASA_IMAGE  # the only image it is built from
    bases = [arguments for instruction, arguments in dockerfile_instructions(ACTIONS_DOCKERFILE)
             if instruction == "FROM"]  # fmt: skip
    assert bases == [ACTIONS_BASE_IMAGE]
    for name, service in services.items():
        if "build" in service:
            continue  # built here, from the pinned FROM above
        image, _, tag = service["image"].rpartition(":")
        assert image and re.fullmatch(r"\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?", tag), f"{name}: {service['image']}"


def test_the_images_run_the_rasa_versions_the_tests_ran(services: dict[str, dict[str, Any]]) -> None:
    constraints = pins(CONSTRAINTS)
    assert rasa_runtime_stage()[0] == f"rasa/rasa:{constraints['rasa']}-full"
    bases = [arguments for instruction, arguments in dockerfile_instructions(ACTIONS_DOCKERFILE)
             if instruction == "FROM"]  # fmt: skip
    assert bases == [f"rasa/rasa-sdk:{constraints['rasa-sdk']}"]


def test_the_rasa_image_adds_only_pinned_packages_the_tests_ran_and_copies_nothing() -> None:
    """compose mounts the code and the model: its stage of the image only installs packages, at
    constraints.txt's versions, which need nothing that rasa/rasa does not already hold."""
    added = rasa_runtime_pins()
    constraints = pins(CONSTRAINTS)
    assert "prometheus-client" in added  # connectors/metrics.py
    assert {name: (version, constraints.get(name)) for name, version in added.items()
            if constraints.get(name) != version} == {}, "docker/rasa/Dockerfile and constraints.txt differ"  # fmt: skip
    in_rasa = requirement_closure("rasa")
    assert {name: requirement_closure(name) - {name} - in_rasa for name in added} == {
        name: set() for name in added
    }
    steps = {instruction for instruction, _ in rasa_runtime_stage()[1]}
    assert steps <= {"RUN", "USER"}, steps
    assert rasa_runtime_stage()[1][-1] == ("USER", "1001")  # the image's own user again


def test_the_action_server_installs_the_versions_the_tests_ran() -> None:
    required = pins(ACTIONS_REQUIREMENTS)
    constraints = pins(CONSTRAINTS)
    assert {"sqlalchemy", "alembic", "mako", "psycopg2-binary", "pyyaml"} <= set(required)
    differ = {name: (version, constraints[name]) for name, version in required.items()
              if name in constraints and constraints[name] != version}  # fmt: skip
    assert differ == {}, "docker/actions/requirements.txt and constraints.txt differ: (image, tests)"
    install = " ".join(arguments for instruction, arguments in dockerfile_instructions(ACTIONS_DOCKERFILE)
                       if instruction == "RUN" and "pip install" in arguments)  # fmt: skip
    assert re.search(r"-r \S*requirements\.txt -c \S*constraints\.txt", install), install


def test_the_action_server_runs_as_a_user_who_cannot_change_its_code() -> None:
    instructions = dockerfile_instructions(ACTIONS_DOCKERFILE)
    users = [arguments for instruction, arguments in instructions if instruction == "USER"]
    assert users and users[-1] not in ("0", "root"), users
    last_copy = max(i for i, (instruction, _) in enumerate(instructions) if instruction == "COPY")
    last_user = max(i for i, (instruction, _) in enumerate(instructions) if instruction == "USER")
    assert last_user > last_copy, "switch to the unprivileged user after copying the code, so it owns none"
    assert not any("--chown" in arguments for instruction, arguments in instructions if instruction == "COPY")


def test_the_action_server_image_runs_the_project_s_server_for_the_other_containers(
    services: dict[str, dict[str, Any]],
) -> None:
    """`python -m actions.server`, which checks ACTION_SERVER_TOKEN, rather than rasa_sdk's own,
    listening on every interface (it would listen on loopback only) on the port the Rasa servers
    call. The knowledge loader's entrypoint replaces it, and with it these options."""
    final = {instruction: arguments for instruction, arguments in dockerfile_instructions(ACTIONS_DOCKERFILE)}
    assert final["WORKDIR"] == "/app"  # where `actions` is found
    assert json.loads(final["ENTRYPOINT"]) == ["python", "-m", "actions.server"]
    assert json.loads(final["CMD"]) == ["--interface", "0.0.0.0", "--port", "5055"]
    assert "entrypoint" not in services["action-server"] and "command" not in services["action-server"]
    assert environment_of(services["rasa"])["ACTION_SERVER_URL"] == "http://action-server:5055/webhook"


def test_the_knowledge_loader_runs_the_loader_in_the_action_server_image(
    services: dict[str, dict[str, Any]],
) -> None:
    loader, actions = services["knowledge-loader"], services["action-server"]
    assert actions["build"] == {"context": ".", "dockerfile": "docker/actions/Dockerfile"}
    assert loader["build"] == actions["build"] and loader["image"] == actions["image"]
    command = [*loader.get("entrypoint", []), *loader.get("command", [])]
    assert command == ["python", "-m", "actions.loader"]
    assert environment_of(loader)["KNOWLEDGE_DB_URL"].startswith("postgresql://knowledge:")
    assert environment_of(loader)["KNOWLEDGE_DB_URL"].endswith("@postgres:5432/knowledge")


# ---------------------------------------------------------------------------------------------
# Start-up order, health and scaling


def test_the_services_are_the_ones_these_tests_know(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == LONG_RUNNING | ONE_SHOT


def test_every_long_running_service_has_a_health_check_and_restarts(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in LONG_RUNNING:
        healthcheck = services[name].get("healthcheck", {})
        assert healthcheck.get("test") and not healthcheck.get("disable"), f"{name} has no health check"
        assert services[name].get("restart") == "unless-stopped", name
    for name in ONE_SHOT:
        assert services[name].get("restart") == "no", f"{name} runs once; it must not be restarted"


def test_each_service_waits_until_what_it_needs_is_ready(services: dict[str, dict[str, Any]]) -> None:
    assert {name: depends_on(service) for name, service in services.items()} == {
        "postgres": {},
        "redis": {},
        "knowledge-loader": {"postgres": "service_healthy"},
        "action-server": {"knowledge-loader": "service_completed_successfully"},
        "rasa": {
            "postgres": "service_healthy",
            "redis": "service_healthy",
            "action-server": "service_healthy",
        },
        "web": {"rasa": "service_healthy"},
    }


def test_the_health_checks_ask_the_ports_the_servers_listen_on(services: dict[str, dict[str, Any]]) -> None:
    def checked(name: str) -> str:
        return " ".join(services[name]["healthcheck"]["test"])

    assert "http://localhost:5055/health" in checked("action-server")
    assert environment_of(services["rasa"])["ACTION_SERVER_URL"] == "http://action-server:5055/webhook"
    assert "http://localhost:5005/" in checked("rasa")
    assert re.search(r"--port\s+5005\b", RASA_START.read_text())
    assert "server rasa:5005;" in NGINX_CONF.read_text()
    assert "pg_isready" in checked("postgres") and "--host=127.0.0.1" in checked("postgres")
    assert "redis-cli ping" in checked("redis")
    assert "http://127.0.0.1/" in checked("web") and re.search(
        r"^\s*listen 80;", NGINX_CONF.read_text(), re.M
    )


def test_rasa_can_be_scaled_and_only_the_web_server_is_published(services: dict[str, dict[str, Any]]) -> None:
    """`docker compose up --scale rasa=3` needs no fixed name and no host port on `rasa`."""
    assert "container_name" not in services["rasa"]
    assert [name for name, service in services.items() if service.get("ports")] == ["web"]
    assert services["web"]["ports"] == ["${WEB_PORT:-8080}:80"]
    assert "ip_hash;" in NGINX_CONF.read_text()  # long-polling stays on one replica


METRICS_PORT = "9102"
PROMETHEUS_CONFIG = PROJECT_ROOT / "deploy" / "prometheus" / "prometheus.yml"


def test_the_servers_metrics_and_json_logs_stay_inside_the_backend_network(
    services: dict[str, dict[str, Any]],
) -> None:
    """Both servers serve Prometheus metrics on METRICS_PORT and write JSON log lines; the port is
    not published, nginx passes nothing to it, and deploy/prometheus/ scrapes it from inside."""
    for name in ("rasa", "action-server"):
        environment = environment_of(services[name])
        assert environment["METRICS_PORT"] == METRICS_PORT, name
        assert environment["LOG_FORMAT"] == "json", name
        assert not services[name].get("ports") and not services[name].get("expose"), name
        assert "backend" in services[name]["networks"], name
    nginx = NGINX_CONF.read_text()
    assert METRICS_PORT not in nginx and "metrics" not in nginx
    assert re.findall(r"^\s*server\s+(\S+);", nginx, re.M) == ["rasa:5005"], (
        "nginx passes on to port 5005 only"
    )
    jobs = {job["job_name"]: job for job in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]}
    assert jobs["rasa"]["dns_sd_configs"][0] == {"names": ["rasa"], "type": "A", "port": int(METRICS_PORT)}
    assert jobs["action-server"]["static_configs"][0]["targets"] == [f"action-server:{METRICS_PORT}"]


def test_no_service_is_made_to_run_as_root(services: dict[str, dict[str, Any]]) -> None:
    """The images drop root themselves (postgres, nginx's workers) or never have it (rasa, the
    action server): no `user: root`. Redis is started through a shell, which its entrypoint would
    run as root, so it is started as the image's own `redis` user."""
    assert {name: service["user"] for name, service in services.items()
            if str(service.get("user", "")).split(":")[0] in ("root", "0")} == {}  # fmt: skip
    assert services["redis"]["user"] == "redis"
    assert "entrypoint" not in services["redis"]


def test_no_container_can_gain_privileges_and_each_keeps_only_the_capabilities_its_start_needs(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        assert service.get("security_opt") == ["no-new-privileges:true"], name
        assert service.get("cap_drop") == ["ALL"], name
    assert {name: set(service.get("cap_add", [])) for name, service in services.items()} == CAPABILITIES


def test_every_root_filesystem_is_read_only_and_only_scratch_folders_in_memory_are_writable(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        assert service.get("read_only") is True, name
        assert all(mount.get("read_only") for mount in bind_mounts(service)), f"{name}: a writable bind mount"
    assert {name: set(tmpfs_mounts(service)) for name, service in services.items()} == SCRATCH_FOLDERS
    for name, service in services.items():
        for target, options in tmpfs_mounts(service).items():
            assert size_in_bytes(options.get("size", "0")) > 0, (
                f"{name}: {target} has no size, and could fill the memory"
            )
    named_volumes = {name: [volume for volume in service.get("volumes", []) if isinstance(volume, str)
                            and not volume.startswith((".", "/"))] for name, service in services.items()}  # fmt: skip
    assert {name: volumes for name, volumes in named_volumes.items() if volumes} == {
        "postgres": ["postgres-data:/var/lib/postgresql/data"]
    }


def test_every_service_has_a_memory_and_a_cpu_limit(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        limits = resource_limits(service)
        assert size_in_bytes(limits.get("memory", "0")) > 0, f"{name} has no memory limit"
        assert float(limits.get("cpus", 0)) > 0, f"{name} has no CPU limit"


def test_the_servers_memory_limits_hold_what_they_were_measured_to_use(
    services: dict[str, dict[str, Any]],
) -> None:
    """A container that reaches its limit is killed. Each server's limit holds a quarter more than
    the peak `make bench` measured under load (docs/benchmarks.md), with its tmpfs full besides,
    since files in tmpfs count as the container's memory."""
    measured = measured_peak_memory()
    for name, label in (("rasa", "Rasa server"), ("action-server", "action server")):
        scratch = sum(size_in_bytes(options["size"]) for options in tmpfs_mounts(services[name]).values())
        needed = 1.25 * measured[label] * MIB + scratch
        assert size_in_bytes(resource_limits(services[name])["memory"]) >= needed, (name, needed / MIB)


def test_the_databases_are_out_of_the_web_server_s_reach(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("postgres", "redis"):
        assert not set(services[name]["networks"]) & set(services["web"]["networks"]), name
    assert compose["networks"]["backend"].get("internal") is True


def test_the_rasa_server_keeps_conversations_and_locks_in_the_shared_stores(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The compose file's settings, given to `python -m connectors.endpoints` as start.sh does."""
    environment = {
        name: INTERPOLATION.sub(lambda match: dummy(match["name"]), value)
        for name, value in environment_of(services["rasa"]).items()
    }
    output = tmp_path / "endpoints.yml"
    result = subprocess.run(
        [sys.executable, "-m", "connectors.endpoints", str(output)],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    endpoints = yaml.safe_load(output.read_text())
    assert endpoints["action_endpoint"] == {
        "url": "http://action-server:5055/webhook",
        "headers": {"Authorization": f"Bearer {dummy('ACTION_SERVER_TOKEN')}"},
    }
    assert endpoints["tracker_store"] | {"password": "hidden"} == {
        "type": "connectors.tracker_store.SharedTrackerStore", "dialect": "postgresql", "db": "rasa",
        "url": "postgres", "port": 5432, "username": "rasa", "password": "hidden",
        "query": {"connect_timeout": "3"},
    }  # fmt: skip
    assert endpoints["tracker_store"]["password"] == dummy("RASA_DB_PASSWORD")
    lock_store = endpoints["lock_store"]
    assert lock_store["url"] == "redis" and lock_store["port"] == 6379
    # Rasa's own `redis` type, or a subclass from the project, which must be mounted in the container.
    if lock_store["type"] != "redis":
        module = lock_store["type"].rpartition(".")[0]
        assert module.split(".")[0] == "connectors" and module_file(module), lock_store["type"]
    assert endpoints["lock_store"]["password"] == dummy("REDIS_PASSWORD")


def test_the_rasa_start_script_writes_its_settings_then_runs_the_trained_model(
    services: dict[str, dict[str, Any]],
) -> None:
    script = RASA_START.read_text()
    subprocess.run(["sh", "-n", str(RASA_START)], check=True)
    steps = [line.strip() for line in script.splitlines() if line.strip().startswith(("python ", "exec "))]
    assert steps[:2] == [
        "python -m connectors.endpoints /tmp/endpoints.yml",
        "python -m connectors.credentials /tmp/credentials.yml",
    ]
    run = " ".join(re.sub(r"\\\n", " ", script).split("exec ", 1)[1].split())
    # The project's server, which takes `rasa run`'s options, listening for nginx's container.
    assert run.startswith("python -m connectors.server ")
    assert re.search(r"--interface 0\.0\.0\.0\b", run)
    assert "--endpoints /tmp/endpoints.yml" in run and "--credentials /tmp/credentials.yml" in run
    assert "/tmp" in tmpfs_mounts(services["rasa"]), "start.sh writes to /tmp, on a read-only filesystem"
    assert re.search(r"--model \"?\$model\"?|--model models/assistant\.tar\.gz", run)
    assert "model=" + makefile_variable("MODEL") in script  # the file `make train` writes
    if "--enable-api" in run:  # the HTTP API can replace the model or read every conversation
        assert "--auth-token" in run, "--enable-api without --auth-token"


# ---------------------------------------------------------------------------------------------
# Secrets


def every_setting(services: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, str]]:
    for service_name, service in services.items():
        for name, value in environment_of(service).items():
            yield service_name, name, value


def test_no_password_or_token_is_written_in_the_file(services: dict[str, dict[str, Any]]) -> None:
    for service, name, value in every_setting(services):
        if SECRET_NAME.search(name):
            assert INTERPOLATION.fullmatch(value), f"{service}: {name} must come from the environment"
        for userinfo in re.findall(r"://([^@/\s]*)@", value):  # user:password@ in a URL
            password = userinfo.partition(":")[2]
            assert not password or INTERPOLATION.fullmatch(password), f"{service}: {name} holds a password"


def test_every_password_and_token_is_required_or_off_until_set() -> None:
    """The stack's own secrets are required; a chat app's token is empty (the app off) unless
    given. None has a default value in the file."""
    text = COMPOSE_FILE.read_text()
    secrets = [match for match in INTERPOLATION.finditer(text) if SECRET_NAME.search(match["name"])]
    for match in secrets:
        assert match["rule"] and (match["rule"].startswith(":?") or match["rule"] == ":-"), match.group(0)
    assert {match["name"] for match in secrets if match["rule"].startswith(":?")} == set(REQUIRED_SECRETS)
    assert [
        match.group(0) for match in secrets if "PASSWORD" in match["name"] and match["rule"] == ":-"
    ] == []


def test_no_secret_is_ever_on_a_command_line(resolved: dict[str, dict[str, Any]]) -> None:
    """Anyone on the host can read every process's arguments (`ps`), and `docker inspect` shows a
    container's command and health check: secrets go in the environment, never in those."""
    for name, service in resolved.items():
        healthcheck = (service.get("healthcheck") or {}).get("test") or []
        words = [*(service.get("entrypoint") or []), *(service.get("command") or []), *healthcheck]
        shown = " ".join(as_run(word) for word in words)
        assert [secret for secret, value in dummy_secrets().items() if value in shown] == [], name


def test_each_secret_reaches_only_the_services_that_use_it(resolved: dict[str, dict[str, Any]]) -> None:
    given_to = {secret: {name for name, service in resolved.items() if value in json.dumps(service)}
                for secret, value in dummy_secrets().items()}  # fmt: skip
    assert given_to == SECRETS_GIVEN_TO


def test_redis_reads_its_password_from_a_file_only_its_user_can_read(
    resolved: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The redis container's command, run here with a stand-in redis-server that reports what it
    was started with, and the settings folder moved into a scratch folder of the test's."""
    shell, flag, script = map(as_run, resolved["redis"]["command"])
    assert (shell, flag) == ("sh", "-c")
    subprocess.run(["sh", "-n", "-c", script], check=True)
    settings = "/run/redis/redis.conf"
    assert settings in script and str(Path(settings).parent) in tmpfs_mounts(resolved["redis"])
    folder = tmp_path / "run-redis"
    folder.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    started = tmp_path / "started.json"
    fake = bin_dir / "redis-server"
    fake.write_text(
        f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv[1:], open({str(started)!r}, 'w'))\n"
    )
    fake.chmod(0o755)
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", **environment_of(resolved["redis"])}
    subprocess.run(["sh", "-c", script.replace(str(Path(settings).parent), str(folder))],
                   env=environment, check=True, timeout=30)  # fmt: skip
    written = folder / Path(settings).name
    assert json.loads(started.read_text()) == [str(written), "--save", "", "--appendonly", "no"]
    assert written.read_text() == f"requirepass {dummy('REDIS_PASSWORD')}\n"
    assert written.stat().st_mode & 0o777 == 0o600
    assert environment_of(resolved["redis"])["REDISCLI_AUTH"] == dummy("REDIS_PASSWORD")  # the health check's


def test_the_rasa_server_is_given_its_tokens_and_settings(
    resolved: dict[str, dict[str, Any]], docker_compose: str, tmp_path: Path
) -> None:
    rasa, actions = environment_of(resolved["rasa"]), environment_of(resolved["action-server"])
    assert rasa["ACTION_SERVER_TOKEN"] == actions["ACTION_SERVER_TOKEN"] == dummy("ACTION_SERVER_TOKEN")
    assert rasa["WIDGET_SESSION_SECRET"] == dummy("WIDGET_SESSION_SECRET")
    assert rasa["REST_API_TOKEN"] == dummy("REST_API_TOKEN")
    assert rasa["CONVERSATION_RETENTION_DAYS"] == "30"
    assert rasa["WIDGET_ORIGINS"] == ""  # the page nginx serves, and no other
    # nginx, the one proxy in front, tells the Rasa servers the address it saw, as one hop.
    assert rasa["TRUSTED_PROXIES"] == "1"
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in NGINX_CONF.read_text()
    chosen = {
        "CONVERSATION_RETENTION_DAYS": "7",
        "WIDGET_ORIGINS": "https://a.example,https://b.example",
        # The Rasa server says the urgent reply and names the helpline itself (connectors/responses.py).
        "EMERGENCY_CONTACT": "call 000, or your local emergency number",
        "HELPLINE_NAME": "the MS nurse line",
        "HELPLINE_PHONE": "0100 000 000",
        "HELPLINE_HOURS": "weekdays, 9 to 5",
        "HELPLINE_URL": "https://nurses.example",
    }
    result = run_compose(docker_compose, tmp_path, {**dummy_secrets(), **chosen}, "config")
    assert result.returncode == 0, result.stderr
    rasa = environment_of(yaml.safe_load(result.stdout)["services"]["rasa"])
    assert {name: rasa[name] for name in chosen} == chosen


# ---------------------------------------------------------------------------------------------
# Paths


def test_every_path_the_stack_names_is_in_the_repository_or_built_by_make(
    services: dict[str, dict[str, Any]],
) -> None:
    named: list[str] = []
    for service in services.values():
        if "build" in service:
            context = PROJECT_ROOT / service["build"]["context"]
            named += [
                service["build"]["context"],
                str((context / service["build"]["dockerfile"]).relative_to(PROJECT_ROOT)),
            ]
        named += [mount["source"] for mount in bind_mounts(service)]
    named += copy_sources(ACTIONS_DOCKERFILE)  # its build context is the repository's root
    missing = []
    for path in named:
        relative = Path(path).as_posix().removeprefix("./").rstrip("/") or "."
        built = any(relative == top or relative.startswith(top + "/") for top in BUILT_BY_MAKE)
        if not built and not (PROJECT_ROOT / relative).exists():
            missing.append(relative)
    assert missing == []


def test_the_built_paths_are_what_make_builds() -> None:
    """`models/` holds `make train`'s model; the socket.io client comes from `make web` (npm ci)."""
    makefile = MAKEFILE.read_text()
    for folder, (target, variable) in BUILT_BY_MAKE.items():
        assert makefile_variable(variable).startswith(f"{folder}/"), variable
        assert re.search(rf"^{target}: \$\({variable}\)", makefile, re.MULTILINE), f"make {target}"
    assert "npm ci" in makefile
    lock = json.loads((PROJECT_ROOT / "web" / "package-lock.json").read_text())
    assert "node_modules/socket.io-client" in lock["packages"]
    assert (
        "node_modules/socket.io-client/dist/socket.io.min.js"
        in (PROJECT_ROOT / "web" / "index.html").read_text()
    )


def test_the_web_server_serves_every_file_the_page_loads(services: dict[str, dict[str, Any]]) -> None:
    page = (PROJECT_ROOT / "web" / "index.html").read_text()
    loaded = set(re.findall(r'(?:src|href)="([^":]+)"', page)) | {"index.html"}
    mounted = {mount["target"] for mount in bind_mounts(services["web"])}
    nginx = NGINX_CONF.read_text()
    for path in loaded:
        assert any(f"/usr/share/nginx/html/{path}".startswith(target) for target in mounted), path
        assert f"location = /{path} " in nginx, f"nginx does not serve /{path}"
    assert "root /usr/share/nginx/html;" in nginx


def test_the_rasa_container_is_given_the_model_its_code_and_its_settings(
    services: dict[str, dict[str, Any]],
) -> None:
    mounts = {mount["target"]: mount for mount in bind_mounts(services["rasa"])}
    expected = {
        "/app/models": "./models",
        "/app/connectors": "./connectors",
        "/app/safety": "./safety",
        "/app/feedback": "./feedback",  # the feedback store: the widget's presses, retention, deletion
        "/app/nlu": "./nlu",  # the intent classifier the model names
        # Where safety/ and connectors/ look for them.
        "/app/knowledge/red_flags.yml": "./knowledge/red_flags.yml",
        "/app/knowledge/languages.yml": "./knowledge/languages.yml",
        "/app/knowledge/fixed_replies.yml": "./knowledge/fixed_replies.yml",
        "/app/credentials.yml": "./credentials.yml",
        "/app/endpoints.yml": "./endpoints.yml",
        "/app/docker/rasa/start.sh": "./docker/rasa/start.sh",
    }
    assert {target: mount["source"] for target, mount in mounts.items()} == expected
    assert all(mount.get("read_only") for mount in mounts.values()), "mount the project read-only"
    assert services["rasa"]["entrypoint"] == ["sh", "/app/docker/rasa/start.sh"]
    assert environment_of(services["rasa"])["PYTHONPATH"] == "/app"


def test_the_build_context_holds_what_the_image_copies_and_nothing_heavy_or_secret() -> None:
    for source in copy_sources(ACTIONS_DOCKERFILE):
        assert sent_to_docker(source), f".dockerignore leaves out {source}, which the Dockerfile copies"
        assert sent_to_docker(f"{source.rstrip('/')}/x.py") or not (PROJECT_ROOT / source).is_dir(), source
    left_out = [".venv/bin/python", "models/assistant.tar.gz", "web/node_modules/x.js", "var/knowledge.db",
                "results/nlu/report.json", ".git/HEAD", ".env", "actions/__pycache__/store.cpython-310.pyc"]  # fmt: skip
    assert [path for path in left_out if sent_to_docker(path)] == []


# ---------------------------------------------------------------------------------------------
# What each container imports


@lru_cache(maxsize=1)
def distribution_of_module() -> dict[str, str]:
    """{top-level module: canonical distribution name} for everything in this environment."""
    from packaging.utils import canonicalize_name

    found: dict[str, str] = {}
    for distribution in importlib.metadata.distributions():
        for file in distribution.files or []:
            if file.suffix in (".py", ".so") and not file.parts[0].endswith((".dist-info", ".data")):
                top = file.parts[0].split(".")[0] if len(file.parts) == 1 else file.parts[0]
                found.setdefault(top, canonicalize_name(distribution.metadata["Name"]))
    return found


def requirement_closure(*names: str) -> set[str]:
    """The distributions `names` install, with everything they require (no extras)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    waiting = [canonicalize_name(name) for name in names]
    while waiting:
        name = waiting.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in importlib.metadata.requires(name) or []:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                waiting.append(canonicalize_name(requirement.name))
    return seen


def module_file(module: str) -> Path | None:
    """The project file of a module such as `safety.red_flags`, or None if it is not the project's."""
    base = PROJECT_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports_of(entry_modules: list[str], entry_files: Sequence[Path] = ()) -> tuple[set[Path], set[str]]:
    """Following imports from `entry_modules` (and from scripts loaded by path, such as Alembic's
    migrations): (the project files they load, the other top-level modules they import that are
    not in Python's standard library)."""
    files: set[Path] = set()
    others: set[str] = set()
    waiting = list(entry_modules)
    loaded = [(path, []) for path in entry_files]  # (file, the package it is in)
    while waiting or loaded:
        if waiting:
            module = waiting.pop()
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):  # a package's __init__ runs before its modules
                path = module_file(".".join(parts[:depth]))
                if path is None:
                    if depth == 1:
                        others.add(parts[0])
                    break
                loaded.append((path, parts[: depth if path.name == "__init__.py" else depth - 1]))
        while loaded:
            path, package = loaded.pop()
            if path in files:
                continue
            files.add(path)
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    waiting.extend(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    stem = package[: len(package) - node.level + 1] if node.level else []
                    base = ".".join([*stem, node.module] if node.module else stem)
                    waiting.append(base)
                    waiting.extend(f"{base}.{alias.name}" for alias in node.names
                                   if module_file(f"{base}.{alias.name}"))  # fmt: skip
    return files, {name for name in others if name not in sys.stdlib_module_names and name != "__future__"}


def package_modules(package: str) -> list[str]:
    return [f"{package}.{path.stem}" for path in sorted((PROJECT_ROOT / package).glob("*.py"))]


def migrations_folder() -> Path:
    """Where alembic.ini says the knowledge store's migrations are."""
    alembic_ini = PROJECT_ROOT / "alembic.ini"
    assert alembic_ini.exists(), "alembic.ini is missing (the loader runs the migrations it names)"
    settings = configparser.ConfigParser(interpolation=None)
    settings.read(alembic_ini)
    location = settings["alembic"]["script_location"]
    assert ":" not in location, "a package:folder location needs its own check here"
    return PROJECT_ROOT / location.replace("%(here)s", ".")


def test_the_action_server_image_has_everything_the_actions_and_the_loader_import() -> None:
    """rasa_sdk imports every module of the `actions` package; the loader runs actions.loader, and
    Alembic runs the migrations' scripts by their paths."""
    files, third_party = imports_of(package_modules("actions"), sorted(migrations_folder().rglob("*.py")))
    copied = [PROJECT_ROOT / source for source in copy_sources(ACTIONS_DOCKERFILE)]
    not_copied = sorted(str(path.relative_to(PROJECT_ROOT)) for path in files
                        if not any(path == source or source in path.parents for source in copied))  # fmt: skip
    assert not_copied == [], "imported by the actions but not copied into the image"
    installed = requirement_closure(*pins(ACTIONS_REQUIREMENTS), "rasa-sdk")  # rasa-sdk: the base image's
    missing = {name: distribution_of_module().get(name) for name in third_party
               if distribution_of_module().get(name) not in installed}  # fmt: skip
    assert missing == {}, "imported by the actions; not in docker/actions/requirements.txt or the base image"


def test_the_loader_finds_its_migrations_in_the_image() -> None:
    location = migrations_folder().resolve().relative_to(PROJECT_ROOT).as_posix()
    assert (PROJECT_ROOT / location).is_dir(), location
    assert list((PROJECT_ROOT / location).rglob("*.py")), f"no migrations in {location}"
    copied = [source.rstrip("/") for source in copy_sources(ACTIONS_DOCKERFILE)]
    assert any(location == source or location.startswith(source + "/") for source in copied), location
    assert "alembic.ini" in copied


def test_the_rasa_image_has_everything_the_mounted_code_imports() -> None:
    """The model's custom component and the channels run inside rasa/rasa, with only the mounts."""
    pipeline = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    custom = [item["name"].rpartition(".")[0] for item in pipeline["pipeline"] + pipeline["policies"]
              if "." in item["name"]]  # fmt: skip
    channels = [name.rpartition(".")[0] for name in yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
                if "." in name]  # fmt: skip
    assert custom and channels
    files, third_party = imports_of(
        [*custom, *channels, *package_modules("connectors"), *package_modules("safety")]
    )
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    mounted = [PROJECT_ROOT / mount["source"] for mount in bind_mounts(compose["services"]["rasa"])]
    not_mounted = sorted(str(path.relative_to(PROJECT_ROOT)) for path in files
                         if not any(path == source or source in path.parents for source in mounted))  # fmt: skip
    assert not_mounted == []
    installed = requirement_closure("rasa", *rasa_runtime_pins())  # the image compose builds
    missing = {name: distribution_of_module().get(name) for name in third_party
               if distribution_of_module().get(name) not in installed}  # fmt: skip
    assert missing == {}


def test_the_database_set_up_script_is_valid_shell_and_makes_both_databases() -> None:
    scripts = sorted(POSTGRES_INIT.glob("*.sh"))
    assert scripts
    for script in scripts:
        subprocess.run(["bash", "-n", str(script)], check=True)
    text = "\n".join(script.read_text() for script in scripts)
    for database in ("knowledge", "rasa", "feedback"):
        assert f"CREATE DATABASE {database} OWNER {database};" in text
    assert "GRANT SELECT ON TABLES TO knowledge_reader" in text
    for name in (
        "KNOWLEDGE_DB_PASSWORD",
        "KNOWLEDGE_READER_PASSWORD",
        "RASA_DB_PASSWORD",
        "FEEDBACK_DB_PASSWORD",
    ):
        assert f'"${name}"' in text


# ---------------------------------------------------------------------------------------------
# The database set-up script on a real PostgreSQL, as the postgres image runs it on a new volume


@pytest.fixture(scope="module")
def new_postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (passwords over TCP, trust on its own socket, as in the
    image), set up by docker/postgres/initdb/, then loaded by the knowledge loader as the
    `knowledge-loader` service does. Yields the server's `host:port`."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not binaries:
        message = "PostgreSQL's server is not installed (Debian: apt-get install postgresql)."
        if os.environ.get("SKIP_PRODUCTION_TESTS") == "1":
            pytest.skip(f"SKIP_PRODUCTION_TESTS=1: {message}")
        pytest.fail(message)
    bin_dir = binaries[-1].parent
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []  # it refuses root
    folder = Path(tempfile.mkdtemp(prefix="compose-postgres-"))
    if os.getuid() == 0:
        shutil.chown(folder, "postgres")
    port = free_port()
    data = folder / "data"
    try:
        subprocess.run(
            [*as_postgres, str(bin_dir / "initdb"), "--pgdata", str(data), "--username=postgres",
             "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--encoding=UTF8"],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "--pgdata", str(data), "--wait", "--log", str(folder / "log"),
             "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off", "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "POSTGRES_USER": "postgres",
                       "PGHOST": str(folder), "PGPORT": str(port), **dummy_secrets()}  # fmt: skip
        for script in sorted(POSTGRES_INIT.glob("*.sh")):
            result = subprocess.run(["bash", str(script)], env=environment, capture_output=True, text=True)
            assert result.returncode == 0, f"{script.name}: {result.stderr}"
        load = subprocess.run(
            [sys.executable, "-m", "actions.loader"],
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                "KNOWLEDGE_DB_URL": postgres_url("knowledge", f"127.0.0.1:{port}", "knowledge"),
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert load.returncode == 0, f"the loader failed as role `knowledge`: {load.stderr}"
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "--pgdata", str(data), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def postgres_url(role: str, server: str, database: str, password: str | None = None) -> str:
    """The URL the compose file gives a service, with the dummy password for `role`."""
    variables = {"knowledge": "KNOWLEDGE_DB_PASSWORD", "knowledge_reader": "KNOWLEDGE_READER_PASSWORD",
                 "rasa": "RASA_DB_PASSWORD", "feedback": "FEEDBACK_DB_PASSWORD",
                 "postgres": "POSTGRES_PASSWORD"}  # fmt: skip
    return f"postgresql://{role}:{password or dummy(variables[role])}@{server}/{database}"


def refused(url: str, statement: str) -> bool:
    """Whether the database refuses the statement (or the connection) to this role."""
    engine = create_engine(url, future=True)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
        return False
    except (OperationalError, ProgrammingError):
        return True
    finally:
        engine.dispose()


def test_the_action_server_s_role_reads_the_knowledge_but_cannot_change_it(new_postgres: str) -> None:
    from actions.models import Base

    reader = postgres_url("knowledge_reader", new_postgres, "knowledge")
    engine = create_engine(reader, future=True)
    with engine.connect() as connection:
        counts = {table.name: connection.execute(text(f"SELECT count(*) FROM {table.name}")).scalar_one()
                  for table in Base.metadata.sorted_tables}  # fmt: skip
    engine.dispose()
    assert counts["trials"] > 0, counts
    for table in Base.metadata.sorted_tables:
        assert refused(reader, f"DELETE FROM {table.name}"), table.name
    assert refused(reader, "CREATE TABLE invented_figures (value integer)")
    assert refused(reader, "SELECT 1 FROM pg_database") is False  # still connected: refusals were real
    assert refused(postgres_url("knowledge_reader", new_postgres, "rasa"), "SELECT 1")


def test_each_role_needs_its_own_password_and_stays_in_its_own_database(new_postgres: str) -> None:
    assert refused(postgres_url("rasa", new_postgres, "rasa", password="wrong"), "SELECT 1")
    assert refused(postgres_url("rasa", new_postgres, "knowledge"), "SELECT 1")
    assert refused(postgres_url("knowledge", new_postgres, "rasa"), "SELECT 1")
    assert not refused(postgres_url("knowledge", new_postgres, "knowledge"), "SELECT 1")
    for other in ("knowledge", "rasa"):
        assert refused(postgres_url("feedback", new_postgres, other), "SELECT 1")
        assert refused(postgres_url(other, new_postgres, "feedback"), "SELECT 1")
    assert refused(postgres_url("knowledge_reader", new_postgres, "feedback"), "SELECT 1")


def test_both_servers_keep_answers_and_feedback_in_the_feedback_database_as_its_role(
    new_postgres: str, resolved: dict[str, dict[str, Any]]
) -> None:
    """The URL compose gives both servers, on the database the set-up script made: the store makes
    its tables on first use and keeps an answer and its feedback."""
    from datetime import timedelta

    from feedback import store

    rasa, actions = environment_of(resolved["rasa"]), environment_of(resolved["action-server"])
    assert rasa["FEEDBACK_STORE_URL"] == actions["FEEDBACK_STORE_URL"]
    url = rasa["FEEDBACK_STORE_URL"].replace("@postgres:5432/", f"@{new_postgres}/")
    assert url == postgres_url("feedback", new_postgres, "feedback")
    given = store.AnswerRecord(
        store.new_answer_id(), "relapse", "care-ms-ii", [store.RowReference("results", 1, "k")]
    )
    store.record_answer(url, given)
    assert store.record_feedback(url, given.answer_id, False, "unclear")
    assert [
        row.reason
        for row in store.feedback_by_topic(url, given.answered_at, given.answered_at + timedelta(1))
    ] == ["unclear"]
    store._engine(url).dispose()


def test_rasa_keeps_conversations_in_its_database_as_its_own_role(new_postgres: str) -> None:
    """Rasa's SQL tracker store creates its tables on start and saves a conversation."""
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    host, _, port = new_postgres.partition(":")
    store = SQLTrackerStore(Domain.empty(), dialect="postgresql", host=host, port=int(port), db="rasa",
                            username="rasa", password=dummy("RASA_DB_PASSWORD"))  # fmt: skip
    tracker = DialogueStateTracker.from_events("compose-test", [UserUttered("hello")])
    asyncio.run(store.save(tracker))
    kept = asyncio.run(store.retrieve("compose-test"))
    store.engine.dispose()
    assert kept is not None and kept.latest_message.text == "hello"
