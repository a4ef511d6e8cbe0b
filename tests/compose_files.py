"""The production stack's files as the tests read them: docker-compose.yml, the Dockerfiles and
their ignore files, deploy.env.example. Shared by tests/test_compose.py and
tests/test_kubernetes.py, with nothing heavier than PyYAML imported.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
NGINX_CONF = PROJECT_ROOT / "docker" / "web" / "nginx.conf"
POSTGRES_INIT = PROJECT_ROOT / "docker" / "postgres" / "initdb"
ENV_EXAMPLE = PROJECT_ROOT / "deploy.env.example"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
BENCHMARKS = PROJECT_ROOT / "docs" / "benchmarks.md"
MIB = 1024 * 1024
# The stock Rasa server image, which docker/rasa/Dockerfile builds on (tests/test_compose.py).
RASA_IMAGE = "rasa/rasa:3.6.21-full"
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|AUTH", re.IGNORECASE)
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rule>:?[-?][^}]*)?\}")


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each instruction, with continued lines joined."""
    joined = re.sub(r"\\\n", " ", path.read_text())
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            found.append((instruction.upper(), arguments.strip()))
    return found


def copy_sources(path: Path) -> list[str]:
    """The build-context paths the Dockerfile's COPY instructions read (not --from stages)."""
    sources = []
    for instruction, arguments in dockerfile_instructions(path):
        if instruction == "COPY":
            words = [word for word in shlex.split(arguments) if not word.startswith("--")]
            assert "--from" not in arguments, "a COPY --from needs its own check here"
            sources.extend(words[:-1])
    return sources


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.partition("=")[::2] for item in environment)
    return {name: "" if value is None else str(value) for name, value in environment.items()}


def bind_mounts(service: dict[str, Any]) -> list[dict[str, Any]]:
    """The service's bind mounts in the long form: {type, source, target, read_only}."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target, *mode = volume.split(":")
            if not source.startswith((".", "/")):
                continue  # a named volume
            volume = {"type": "bind", "source": source, "target": target, "read_only": mode == ["ro"]}
        if volume["type"] == "bind":
            mounts.append(volume)
    return mounts


def size_in_bytes(size: str | int) -> int:
    """Compose's byte values: 512m, 2g, 64k, or a number of bytes."""
    number, unit = re.fullmatch(r"(\d+)([bkmg]?)", str(size).lower()).groups()
    return int(number) * {"": 1, "b": 1, "k": 1024, "m": MIB, "g": 1024 * MIB}[unit]


def tmpfs_mounts(service: dict[str, Any]) -> dict[str, dict[str, str]]:
    """{target: {option: value}} of the service's tmpfs mounts (`/tmp:size=64m`)."""
    mounts = service.get("tmpfs") or []
    found = {}
    for mount in [mounts] if isinstance(mounts, str) else mounts:
        target, _, options = mount.partition(":")
        found[target] = dict(option.partition("=")[::2] for option in options.split(",") if option)
    return found


def resource_limits(service: dict[str, Any]) -> dict[str, Any]:
    return ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}


def measured_peak_memory() -> dict[str, int]:
    """{"Rasa server": MiB, "action server": MiB}: the peak memory `make bench` measured."""
    found = {name: int(mib.replace(",", "")) for name, mib in
             re.findall(r"^\| peak memory \(RSS\), (.+?) \| ([\d,]+) MiB \|$", BENCHMARKS.read_text(), re.M)}  # fmt: skip
    assert {"Rasa server", "action server"} <= set(found), (
        f"{BENCHMARKS.name} no longer gives the peak memory"
    )
    return found


def dockerignore_patterns(ignore_file: Path = DOCKERIGNORE) -> list[tuple[bool, re.Pattern]]:
    """(is an exception `!`, pattern) in order; the last that matches a path decides."""
    patterns = []
    for line in ignore_file.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex = "".join(
            ".*" if part == "**" else "[^/]*" if part == "*" else "[^/]" if part == "?" else re.escape(part)
            for part in re.split(r"(\*\*|\*|\?)", glob)
        )
        patterns.append((exception, re.compile(regex.replace(".*/", "(.*/)?"))))
    return patterns


def sent_to_docker(path: str, ignore_file: Path = DOCKERIGNORE) -> bool:
    """Whether .dockerignore (or a Dockerfile's own ignore file) lets the build context include
    `path` (a pattern matching a folder matches everything in it)."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    sent = True
    for exception, pattern in dockerignore_patterns(ignore_file):
        if any(pattern.fullmatch(candidate) for candidate in candidates):
            sent = exception
    return sent
