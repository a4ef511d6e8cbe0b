"""The Kubernetes manifests (deploy/kubernetes/), checked offline, with no cluster.

Every manifest, and what `kubectl kustomize` renders of the base, the production overlay and the
database set-up, is validated against the Kubernetes OpenAPI schemas that kubernetes-validate
bundles (run from .tools-venv, `make tools`, cut off from the network where the machine allows).
Then the rules, as functions that return the problems they find: probes, resources, security
settings, disruption budgets, the autoscaler, network policies, pinned images, no secret values;
each is also fed a broken copy to show that it catches it. The rest holds the manifests to
docker-compose.yml, read here rather than repeated: the same images, commands, ports, paths,
health endpoints, settings, limits and scratch folders.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tests.compose_files import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    INTERPOLATION,
    MIB,
    NGINX_CONF,
    POSTGRES_INIT,
    PROJECT_ROOT,
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

KUBERNETES = PROJECT_ROOT / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"
PRODUCTION = KUBERNETES / "overlays" / "production"
DATABASE_SETUP = KUBERNETES / "database-setup"
KUSTOMIZATIONS = (BASE, PRODUCTION, DATABASE_SETUP)
README = KUBERNETES / "README.md"
SECRETS_EXAMPLE = KUBERNETES / "secrets.env.example"
TOOLS_BIN = PROJECT_ROOT / ".tools-venv" / "bin"
TOOLS_REQUIREMENTS = PROJECT_ROOT / "tools" / "requirements.txt"
# The oldest Kubernetes these manifests are for, and the newest kubernetes-validate bundles.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")

# Each workload, and the compose service it is.
COMPOSE_SERVICE = {
    "rasa": "rasa",
    "action-server": "action-server",
    "knowledge-loader": "knowledge-loader",
    "web": "web",
    "database-setup": "postgres",  # makes the databases and roles, as the postgres container does
}
DEPLOYMENTS = {"rasa", "action-server", "web"}
# The project's images, each built from its Dockerfile FROM the image compose runs.
PROJECT_IMAGES = {
    "ms-trial-assistant/rasa": PROJECT_ROOT / "docker" / "rasa" / "Dockerfile",
    "ms-trial-assistant/actions": PROJECT_ROOT / "docker" / "actions" / "Dockerfile",
    "ms-trial-assistant/web": PROJECT_ROOT / "docker" / "web" / "Dockerfile",
}
COMPONENT = "app.kubernetes.io/component"
VERSION_TAG = re.compile(r"\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?")
REFERENCE = re.compile(r"\$\((?P<name>[A-Za-z_][A-Za-z0-9_]*)\)")  # Kubernetes' $(VAR) in env values
# A value that looks like a password or token: long, of letters and digits, with both.
TOKEN_LIKE = re.compile(r"(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9+/_=-]{20,}")
# Who may reach whom (NetworkPolicies): {(from, to, port)}; `outside` is anything not a pod here.
ALLOWED_CONNECTIONS = {
    ("outside", "web", 80),
    ("monitoring", "web", 80),  # anyone may open the widget
    ("web", "rasa", 5005),
    ("rasa", "action-server", 5055),
    # Prometheus, in a namespace labelled for monitoring, scrapes both servers' metrics.
    ("monitoring", "rasa", 9102),
    ("monitoring", "action-server", 9102),
}
# A pod (Prometheus) in the monitoring namespace, as the policies see it; the assistant's own pods
# are in another namespace.
MONITORING = "monitoring"
MONITORING_NAMESPACE = {"kubernetes.io/metadata.name": "monitoring"}
MONITORING_POD = {"app.kubernetes.io/name": "prometheus"}
ASSISTANT_NAMESPACE = {"kubernetes.io/metadata.name": "ms-trial-assistant"}
# The stores are outside the cluster: who may open a connection to their ports.
STORE_CLIENTS = {
    5432: {"rasa", "action-server", "knowledge-loader", "database-setup"},
    6379: {"rasa"},
}


# ---------------------------------------------------------------------------------------------
# Reading and rendering the manifests


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def kustomization(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / "kustomization.yaml").read_text())


def patch_files(folder: Path) -> list[Path]:
    return [folder / patch["path"] for patch in kustomization(folder).get("patches", [])]


def manifest_files() -> list[Path]:
    """Every file of whole Kubernetes objects: each kustomization's resources that are files (the
    overlay's patches are partial objects, checked once rendered)."""
    files = []
    for folder in KUSTOMIZATIONS:
        for resource in kustomization(folder).get("resources", []):
            if (folder / resource).is_file():
                files.append(folder / resource)
    return files


@lru_cache(maxsize=1)
def offline_prefix() -> tuple[str, ...]:
    """`unshare` into a new network namespace with no interface up, where the machine allows it,
    so that a tool that tried to reach the network would fail."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
        return (unshare, "-rn")
    return ()


@lru_cache(maxsize=1)
def renderer() -> tuple[str, ...] | None:
    """kubectl's built-in kustomize (`kubectl kustomize`, what `kubectl apply -k` runs), else a
    standalone kustomize; None if neither is installed."""
    if shutil.which("kubectl"):
        return ("kubectl", "kustomize")
    if shutil.which("kustomize"):
        return ("kustomize", "build")
    return None


@cache
def render(folder: Path) -> tuple[dict[str, Any], ...]:
    command = renderer()
    if command is None:
        pytest.skip(
            "No renderer (kubectl or kustomize) is installed: the overlay is not rendered; the base "
            "files are validated one by one instead (test_every_manifest_file_follows_the_schemas)."
        )
    result = subprocess.run(
        [*offline_prefix(), *command, str(folder)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return tuple(document for document in yaml.safe_load_all(result.stdout) if document)


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    """What `kubectl apply -k` sends: the production overlay and the database set-up, rendered."""
    return [*render(PRODUCTION), *render(DATABASE_SETUP)]


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    """The rendered production manifests; without a renderer, the files as written (the base's
    one replica of each, its ConfigMaps not generated), so that the rules are still checked."""
    if renderer() is None:
        return [resource for path in manifest_files() for resource in load_documents(path)]
    return [*render(PRODUCTION), *render(DATABASE_SETUP)]


@pytest.fixture(scope="module")
def compose_services() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def of_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {resource["metadata"]["name"]: resource for resource in resources if resource["kind"] == kind}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def workloads(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {**of_kind(resources, "Deployment"), **of_kind(resources, "Job")}


def all_containers(workload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in container.get("env", [])}


def quantity(value: str | int) -> float:
    """Kubernetes' quantities: 500m, 2 (CPUs); 128Mi, 1Gi (bytes)."""
    number, unit = re.fullmatch(r"([\d.]+)(m|Ki|Mi|Gi)?", str(value)).groups()
    return float(number) * {None: 1, "m": 0.001, "Ki": 1024, "Mi": MIB, "Gi": 1024 * MIB}[unit]


# ---------------------------------------------------------------------------------------------
# Schema validation, offline


def kubernetes_validate(path: Path, version: str) -> subprocess.CompletedProcess:
    tool = TOOLS_BIN / "kubernetes-validate"
    if not tool.exists():
        pytest.fail("kubernetes-validate is not installed: run `make tools` (it makes .tools-venv).")
    return subprocess.run(
        [*offline_prefix(), str(tool), "--strict", "--quiet", "--kubernetes-version", version, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def schema_problems(path: Path, version: str) -> list[str]:
    """What kubernetes-validate says is wrong, a kind it has no schema for included (it only warns)."""
    result = kubernetes_validate(path, version)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    problems = [line for line in lines if line.startswith("ERROR") or "Couldn't" in line]
    assert result.returncode == 0 or problems, result.stdout + result.stderr
    return problems


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_file_follows_the_schemas(version: str) -> None:
    files = manifest_files()
    assert {path.name for path in files} >= {"rasa.yaml", "web.yaml", "network-policies.yaml", "job.yaml"}
    assert {path: schema_problems(path, version) for path in files} == dict.fromkeys(files, [])


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda folder: folder.name)
def test_what_kustomize_renders_follows_the_schemas(folder: Path, version: str, tmp_path: Path) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(render(folder)))
    assert schema_problems(rendered, version) == []


def test_the_schema_check_catches_a_wrong_field(tmp_path: Path) -> None:
    """A wrong type, a field that does not exist (--strict), an API version that does not."""
    rasa = of_kind(load_documents(BASE / "rasa.yaml"), "Deployment")["rasa"]
    wrong_type, unknown_field, wrong_api = (copy.deepcopy(rasa) for _ in range(3))
    wrong_type["spec"]["replicas"] = "two"
    pod_spec(unknown_field)["containers"][0]["startupProbe"]["initialDelay"] = 10
    wrong_api["apiVersion"] = "apps/v2"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump_all([wrong_type, unknown_field, wrong_api]))
    problems = schema_problems(broken, KUBERNETES_VERSIONS[0])
    assert len(problems) == 3, problems
    assert "spec.replicas: 'two' is not of type 'integer'" in problems[0]
    assert "'initialDelay' was unexpected" in problems[1]
    assert "Couldn't find schema for kind Deployment with api version apps/v2" in problems[2]


def test_the_overlay_patches_name_objects_of_the_base() -> None:
    """Checked even without a renderer: a patch of a name the base lacks would patch nothing."""
    base = {(resource["kind"], resource["metadata"]["name"]) for path in manifest_files()
            if BASE in path.parents for resource in load_documents(path)}  # fmt: skip
    for path in patch_files(PRODUCTION):
        for patch in load_documents(path):
            assert (patch["kind"], patch["metadata"]["name"]) in base, path.name
    named = {entry["name"] for entry in kustomization(PRODUCTION)["replicas"]}
    assert named == DEPLOYMENTS


# ---------------------------------------------------------------------------------------------
# The rules, each returning the problems it finds


def probe_problems(resources: list[dict[str, Any]]) -> list[str]:
    problems = []
    for name, deployment in of_kind(resources, "Deployment").items():
        for container in pod_spec(deployment)["containers"]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if not container.get(probe):
                    problems.append(f"{name}/{container['name']}: no {probe}")
    return problems


def resource_problems(resources: list[dict[str, Any]]) -> list[str]:
    problems = []
    for name, workload in workloads(resources).items():
        for container in all_containers(workload):
            settings = container.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (settings.get(kind) or {}):
                        problems.append(f"{name}/{container['name']}: no {resource} in {kind}")
            complete = all(resource in (settings.get(kind) or {}) for kind in ("requests", "limits")
                           for resource in ("cpu", "memory"))  # fmt: skip
            if complete and any(quantity(settings["requests"][resource]) > quantity(settings["limits"][resource])
                                for resource in ("cpu", "memory")):  # fmt: skip
                problems.append(f"{name}/{container['name']}: requests above limits")
    return problems


def security_problems(resources: list[dict[str, Any]]) -> list[str]:
    problems = []
    for name, workload in workloads(resources).items():
        spec = pod_spec(workload)
        pod = spec.get("securityContext") or {}
        if (pod.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: no RuntimeDefault seccomp profile")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: mounts a service account token")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            problems.append(f"{name}: shares the host's namespaces")
        for container in all_containers(workload):
            where = f"{name}/{container['name']}"
            context = container.get("securityContext") or {}
            if context.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
                problems.append(f"{where}: may run as root")
            if 0 in (context.get("runAsUser"), pod.get("runAsUser")):
                problems.append(f"{where}: runs as root")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: may gain privileges")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: writable root filesystem")
            if (context.get("capabilities") or {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: keeps capabilities")
            if (context.get("capabilities") or {}).get("add") or context.get("privileged"):
                problems.append(f"{where}: adds capabilities or is privileged")
    return problems


def image_problems(resources: list[dict[str, Any]]) -> list[str]:
    problems = []
    for name, workload in workloads(resources).items():
        for container in all_containers(workload):
            image = container["image"]
            if "@sha256:" in image:
                continue
            repository, _, tag = image.rpartition(":")
            if not repository or "/" in tag:
                problems.append(f"{name}/{container['name']}: {image} has no tag")
            elif not VERSION_TAG.fullmatch(tag):
                problems.append(f"{name}/{container['name']}: {image} is not pinned to a version")
    return problems


def inline_secret_problems(resources: list[dict[str, Any]]) -> list[str]:
    """Secret objects with values, and settings whose value is, or holds, a password or token:
    passwords and tokens come from the Secrets the operator creates, as $(NAME) at most."""

    def looks_secret(name: str, value: str) -> bool:
        unreferenced = REFERENCE.sub("", value)
        passwords = [userinfo.partition(":")[2] for userinfo in re.findall(r"://([^@/\s]*)@", unreferenced)]
        return (
            (bool(SECRET_NAME.search(name)) and bool(unreferenced))
            or any(passwords)
            or bool(TOKEN_LIKE.fullmatch(unreferenced))
        )

    problems = []
    for resource in resources:
        where = f"{resource['kind']}/{resource['metadata']['name']}"
        if resource["kind"] == "Secret" and (resource.get("data") or resource.get("stringData")):
            problems.append(f"{where}: a Secret with values in the repository")
        if resource["kind"] == "ConfigMap":
            problems += [f"{where}: {key}" for key, value in (resource.get("data") or {}).items()
                         if "\n" not in str(value) and looks_secret(key, str(value))]  # fmt: skip
    for name, workload in workloads(resources).items():
        for container in all_containers(workload):
            for variable in container.get("env", []):
                if "value" in variable and looks_secret(variable["name"], str(variable["value"])):
                    problems.append(f"{name}/{container['name']}: {variable['name']} holds a secret")
    return problems


def disruption_budget_problems(resources: list[dict[str, Any]]) -> list[str]:
    budgets = of_kind(resources, "PodDisruptionBudget").values()
    problems = []
    for name, deployment in of_kind(resources, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if not any(selects(budget["spec"]["selector"], labels) for budget in budgets):
            problems.append(f"{name}: no PodDisruptionBudget")
    return problems


def autoscaler_problems(resources: list[dict[str, Any]], least: int) -> list[str]:
    targets = {hpa["spec"]["scaleTargetRef"]["name"]: hpa["spec"] for hpa in of_kind(resources, "HorizontalPodAutoscaler").values()
               if hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"}  # fmt: skip
    if "rasa" not in targets:
        return ["no HorizontalPodAutoscaler for the Rasa servers"]
    spec = targets["rasa"]
    if spec.get("minReplicas", 1) < least or spec["maxReplicas"] <= spec.get("minReplicas", 1):
        return [f"the Rasa servers' autoscaler: {spec.get('minReplicas', 1)} to {spec['maxReplicas']}"]
    return []


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels, matchExpressions with In) matching a pod's labels."""
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        assert expression["operator"] == "In", "a selector operator these tests do not read"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def pod_labels(resources: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {
        name: workload["spec"]["template"]["metadata"]["labels"]
        for name, workload in workloads(resources).items()
    }


def policy_allows(resources: list[dict[str, Any]], source: str, target: str, port: int) -> bool:
    """Whether the NetworkPolicies let `source` (a workload, or `outside`) open a connection to
    `target` (a workload, or `outside`: an address beyond the cluster) on a TCP port. A pod no
    policy selects for a direction is open that way, as in Kubernetes."""
    labels = pod_labels(resources)
    policies = list(of_kind(resources, "NetworkPolicy").values())

    def port_matches(rule: dict[str, Any]) -> bool:
        ports = rule.get("ports")
        return not ports or any(
            entry.get("port") == port and entry.get("protocol", "TCP") == "TCP" for entry in ports
        )

    def peer_matches(peers: list[dict[str, Any]] | None, other: str) -> bool:
        if not peers:
            return True
        for peer in peers:
            if "ipBlock" in peer:
                if other == "outside" and peer["ipBlock"]["cidr"] == "0.0.0.0/0":
                    return True
            elif other != "outside":
                # Without a namespaceSelector, a podSelector picks pods of the policy's own namespace.
                namespace = MONITORING_NAMESPACE if other == MONITORING else ASSISTANT_NAMESPACE
                in_namespace = (
                    selects(peer["namespaceSelector"], namespace)
                    if "namespaceSelector" in peer
                    else other != MONITORING
                )
                pod = MONITORING_POD if other == MONITORING else labels[other]
                if in_namespace and selects(peer.get("podSelector") or {}, pod):
                    return True
        return False

    def allowed(pod: str, other: str, direction: str) -> bool:
        if pod in ("outside", MONITORING):  # not the assistant's pods: their own policies
            return True
        selecting = [policy["spec"] for policy in policies if selects(policy["spec"]["podSelector"], labels[pod])
                     and direction.capitalize() in policy["spec"].get("policyTypes", ["Ingress"])]  # fmt: skip
        if not selecting:
            return True
        key = "from" if direction == "ingress" else "to"
        return any(port_matches(rule) and peer_matches(rule.get(key), other)
                   for spec in selecting for rule in spec.get(direction, []))  # fmt: skip

    return allowed(source, target, "egress") and allowed(target, source, "ingress")


def network_problems(resources: list[dict[str, Any]]) -> list[str]:
    problems = []
    deny = [policy for policy in of_kind(resources, "NetworkPolicy").values()
            if policy["spec"]["podSelector"] == {} and set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not policy["spec"].get("ingress") and not policy["spec"].get("egress")]  # fmt: skip
    if not deny:
        problems.append("no default-deny NetworkPolicy")
    pods = sorted(pod_labels(resources))
    ports = sorted({port for _, _, port in ALLOWED_CONNECTIONS})
    for source in ["outside", MONITORING, *pods]:
        for target in pods:
            for port in ports:
                expected = (source, target, port) in ALLOWED_CONNECTIONS
                if source != target and policy_allows(resources, source, target, port) != expected:
                    problems.append(f"{source} -> {target}:{port} {'denied' if expected else 'allowed'}")
    for port, clients in STORE_CLIENTS.items():
        reaching = {pod for pod in pods if policy_allows(resources, pod, "outside", port)}
        if reaching != clients & set(pods):
            problems.append(f"port {port} outside the cluster is reached by {sorted(reaching)}")
    dns = [policy for policy in of_kind(resources, "NetworkPolicy").values() if policy["spec"]["podSelector"] == {}
           and any(entry.get("port") == 53 for rule in policy["spec"].get("egress", []) for entry in rule.get("ports", []))]  # fmt: skip
    if not dns:
        problems.append("no pod may ask the cluster's DNS")
    return problems


RULES = {
    "probes": probe_problems,
    "resources": resource_problems,
    "security": security_problems,
    "images": image_problems,
    "inline secrets": inline_secret_problems,
    "disruption budgets": disruption_budget_problems,
    "network policies": network_problems,
}


@pytest.mark.parametrize("rule", RULES)
def test_the_rendered_manifests_keep_every_rule(rule: str, manifests: list[dict[str, Any]]) -> None:
    assert RULES[rule](manifests) == []


@pytest.mark.parametrize("rule", RULES)
def test_the_base_files_keep_every_rule_even_unrendered(rule: str) -> None:
    resources = [resource for path in manifest_files() for resource in load_documents(path)]
    assert RULES[rule](resources) == []


def test_every_deployment_runs_two_or_more_in_production_and_the_rasa_servers_scale(
    production: list[dict[str, Any]],
) -> None:
    assert set(of_kind(production, "Deployment")) == DEPLOYMENTS
    assert {name: deployment["spec"]["replicas"] for name, deployment in of_kind(production, "Deployment").items()
            if deployment["spec"]["replicas"] < 2} == {}  # fmt: skip
    assert autoscaler_problems(production, least=2) == []
    namespace = of_kind(production, "Namespace")["ms-trial-assistant"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_no_database_runs_in_the_cluster(manifests: list[dict[str, Any]]) -> None:
    """PostgreSQL and Redis are the operator's: only names pointing at them."""
    services = of_kind(manifests, "Service")
    assert {name: services[name]["spec"]["type"] for name in ("postgres", "redis")} == {
        "postgres": "ExternalName", "redis": "ExternalName"}  # fmt: skip
    servers = [container["image"] for workload in workloads(manifests).values() for container in all_containers(workload)
               if workload["kind"] == "Deployment"]  # fmt: skip
    assert not [image for image in servers if image.startswith(("postgres", "redis"))]
    assert not of_kind(manifests, "StatefulSet") and not of_kind(manifests, "PersistentVolumeClaim")


# The rules fail where they should: each is fed a broken copy of the real manifests.


def broken_copy(manifests: list[dict[str, Any]], name: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    resources = copy.deepcopy(manifests)
    return resources, workloads(resources)[name]


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_a_missing_probe_is_caught(manifests: list[dict[str, Any]], probe: str) -> None:
    resources, rasa = broken_copy(manifests, "rasa")
    del pod_spec(rasa)["containers"][0][probe]
    assert probe_problems(resources) == [f"rasa/rasa: no {probe}"]


@pytest.mark.parametrize("image", ["ms-trial-assistant/rasa:latest", "ms-trial-assistant/rasa", "nginx:1",
                                   "registry.example.org:5000/ms-trial-assistant/rasa"])  # fmt: skip
def test_a_latest_or_missing_tag_is_caught(manifests: list[dict[str, Any]], image: str) -> None:
    resources, rasa = broken_copy(manifests, "rasa")
    pod_spec(rasa)["containers"][0]["image"] = image
    assert len(image_problems(resources)) == 1, image_problems(resources)


@pytest.mark.parametrize(
    "variable",
    [
        {"name": "ACTION_SERVER_TOKEN", "value": "s3cr3t"},
        {"name": "TRACKER_STORE_URL", "value": "postgresql://rasa:hunter2@postgres:5432/rasa"},
        {"name": "LOCK_STORE_URL", "value": "redis://:$(REDIS_PASSWORD)x@redis:6379/0"},
        {"name": "SOMETHING", "value": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"},
    ],
)
def test_an_inline_secret_is_caught(manifests: list[dict[str, Any]], variable: dict[str, str]) -> None:
    resources, rasa = broken_copy(manifests, "rasa")
    pod_spec(rasa)["containers"][0]["env"].append(variable)
    assert inline_secret_problems(resources) == [f"rasa/rasa: {variable['name']} holds a secret"]


def test_a_secret_object_with_values_is_caught(manifests: list[dict[str, Any]]) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "assistant-secrets"},
              "stringData": {"REST_API_TOKEN": "anything"}}  # fmt: skip
    assert inline_secret_problems([*manifests, secret]) == [
        "Secret/assistant-secrets: a Secret with values in the repository"
    ]


def test_the_other_rules_catch_what_they_are_for(manifests: list[dict[str, Any]]) -> None:
    resources, web = broken_copy(manifests, "web")
    del pod_spec(web)["containers"][0]["resources"]["limits"]["memory"]
    assert resource_problems(resources) == ["web/web: no memory in limits"]

    resources, web = broken_copy(manifests, "web")
    pod_spec(web)["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
    pod_spec(web)["securityContext"]["runAsNonRoot"] = False
    del pod_spec(web)["containers"][0]["securityContext"]["runAsNonRoot"]
    assert security_problems(resources) == ["web/web: may run as root", "web/web: writable root filesystem"]

    resources = [resource for resource in manifests if resource["kind"] != "PodDisruptionBudget"
                 or resource["metadata"]["name"] != "web"]  # fmt: skip
    assert disruption_budget_problems(resources) == ["web: no PodDisruptionBudget"]

    resources = [resource for resource in manifests if resource["kind"] != "HorizontalPodAutoscaler"]
    assert autoscaler_problems(resources, least=2) == ["no HorizontalPodAutoscaler for the Rasa servers"]

    resources = [resource for resource in manifests if resource["kind"] != "NetworkPolicy"
                 or resource["metadata"]["name"] != "default-deny"]  # fmt: skip
    assert network_problems(resources) == ["no default-deny NetworkPolicy"]

    resources = copy.deepcopy(manifests)
    of_kind(resources, "NetworkPolicy")["action-server"]["spec"]["ingress"][0]["from"] = []
    assert network_problems(resources) == ["outside -> action-server:5055 allowed",
                                           "monitoring -> action-server:5055 allowed"]  # fmt: skip

    # The metrics port: from the monitoring namespace only, and nothing else from there.
    resources = copy.deepcopy(manifests)
    of_kind(resources, "NetworkPolicy")["metrics"]["spec"]["ingress"][0]["from"].append(
        {"ipBlock": {"cidr": "0.0.0.0/0"}}
    )
    assert sorted(network_problems(resources)) == [
        "outside -> action-server:9102 allowed",
        "outside -> rasa:9102 allowed",
    ]
    resources = copy.deepcopy(manifests)
    of_kind(resources, "NetworkPolicy")["metrics"]["spec"]["ingress"][0]["from"] = [{"podSelector": {}}]
    assert "monitoring -> rasa:9102 denied" in network_problems(resources)
    resources = copy.deepcopy(manifests)
    of_kind(resources, "NetworkPolicy")["metrics"]["spec"]["ingress"][0]["ports"] = []
    assert "monitoring -> rasa:5005 allowed" in network_problems(resources)
    resources = [resource for resource in manifests if resource["kind"] != "NetworkPolicy"
                 or resource["metadata"]["name"] != "metrics"]  # fmt: skip
    assert sorted(network_problems(resources)) == ["monitoring -> action-server:9102 denied",
                                                   "monitoring -> rasa:9102 denied"]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The same as the compose stack


def health_url(service: dict[str, Any]) -> tuple[int, str]:
    """(port, path) of the URL a compose health check asks."""
    url = re.search(r"https?://[^/'\"\s]+(/[^'\"\s]*)?", " ".join(service["healthcheck"]["test"]))
    port = url.group(0).split("://", 1)[1].split("/", 1)[0].partition(":")[2]
    return int(port or 80), url.group(1) or "/"


def test_the_health_endpoints_and_ports_are_compose_s(
    manifests: list[dict[str, Any]], compose_services: dict[str, dict[str, Any]]
) -> None:
    deployments = of_kind(manifests, "Deployment")
    for name in DEPLOYMENTS:
        port, path = health_url(compose_services[COMPOSE_SERVICE[name]])
        container = pod_spec(deployments[name])["containers"][0]
        named = {entry["name"]: entry["containerPort"] for entry in container["ports"]}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            check = container[probe]["httpGet"]
            assert (named.get(check["port"], check["port"]), check["path"]) == (port, path), (name, probe)


def test_prometheus_finds_the_servers_metrics_on_compose_s_port(
    manifests: list[dict[str, Any]], compose_services: dict[str, dict[str, Any]]
) -> None:
    """The scrape annotations name the port both servers serve metrics on (METRICS_PORT, as in
    compose); no Service exposes it (the NetworkPolicy `metrics` lets only monitoring in)."""
    found = workloads(manifests)
    for name in ("rasa", "action-server"):
        port = environment_of(compose_services[name])["METRICS_PORT"]
        annotations = found[name]["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": port,
                               "prometheus.io/path": "/metrics"}, name  # fmt: skip
        container = pod_spec(found[name])["containers"][0]
        assert {"name": "metrics", "containerPort": int(port), "protocol": "TCP"} in container["ports"], name
    for service in of_kind(manifests, "Service").values():
        assert all(entry.get("targetPort") != "metrics" and entry["port"] != 9102
                   for entry in service["spec"].get("ports", [])), service["metadata"]["name"]  # fmt: skip


def test_the_services_listen_where_compose_s_servers_are_called(
    manifests: list[dict[str, Any]], compose_services: dict[str, dict[str, Any]]
) -> None:
    services = of_kind(manifests, "Service")
    action_url = environment_of(compose_services["rasa"])["ACTION_SERVER_URL"]
    host, port = re.fullmatch(r"http://([^:/]+):(\d+)/webhook", action_url).groups()
    assert [entry["port"] for entry in services[host]["spec"]["ports"]] == [int(port)]
    upstream = re.search(r"^\s*server (\S+):(\d+);", NGINX_CONF.read_text(), re.M)
    rasa = services[upstream.group(1)]
    assert rasa["spec"]["clusterIP"] == "None", "headless: nginx must be given every Rasa server's address"
    assert [entry["port"] for entry in rasa["spec"]["ports"]] == [int(upstream.group(2))]
    assert health_url(compose_services["rasa"])[0] == int(upstream.group(2))
    published, target = re.fullmatch(
        r"\$\{WEB_PORT:-(\d+)\}:(\d+)", compose_services["web"]["ports"][0]
    ).groups()
    web = services["web"]["spec"]
    assert web["type"] == "LoadBalancer"
    assert web["externalTrafficPolicy"] == "Local", "the client's address, for ip_hash and the rate limits"
    assert [entry["port"] for entry in web["ports"]] == [int(published)]
    container = pod_spec(of_kind(manifests, "Deployment")["web"])["containers"][0]
    assert [entry["containerPort"] for entry in container["ports"]] == [int(target)]
    for store, port in (("postgres", 5432), ("redis", 6379)):
        assert [entry["port"] for entry in services[store]["spec"]["ports"]] == [port]
        assert f"@{store}:{port}/" in environment_of(compose_services["rasa"])[
            "TRACKER_STORE_URL" if store == "postgres" else "LOCK_STORE_URL"]  # fmt: skip


def test_each_container_is_given_compose_s_settings(
    manifests: list[dict[str, Any]], compose_services: dict[str, dict[str, Any]]
) -> None:
    """compose's `${NAME}` becomes the Secret's or ConfigMap's key NAME, inside a value `$(NAME)`,
    and every other value is the same."""
    for name, workload in workloads(manifests).items():
        if name == "database-setup":
            continue  # psql's own variables; its Secrets are checked below
        container = pod_spec(workload)["containers"][0]
        given = env_of(container)
        expected = environment_of(compose_services[COMPOSE_SERVICE[name]])
        referenced: set[str] = set()
        for variable, value in expected.items():
            whole = INTERPOLATION.fullmatch(value)
            if whole:
                source = given[variable]["valueFrom"]
                reference = source.get("secretKeyRef") or source["configMapKeyRef"]
                assert reference["key"] == whole["name"], (name, variable)
                assert ("secretKeyRef" in source) == bool(SECRET_NAME.search(whole["name"])), (name, variable)
                assert reference.get("optional", False) == (
                    whole["rule"] == ":-" and "secretKeyRef" in source
                )
            else:
                assert given[variable].get("value") == INTERPOLATION.sub(
                    lambda match: f"$({match['name']})", value
                ), (name, variable)
                referenced |= {match["name"] for match in INTERPOLATION.finditer(value)}
        assert set(given) == set(expected) | referenced, name
        order = list(given)
        for variable in referenced:  # Kubernetes expands $(NAME) only from a variable defined before
            assert given[variable]["valueFrom"]["secretKeyRef"]["key"] == variable
            assert all(order.index(variable) < order.index(user) for user in given
                       if f"$({variable})" in str(given[user].get("value", ""))), (name, variable)  # fmt: skip


def secret_keys_used(workload: dict[str, Any]) -> set[str]:
    return {variable["valueFrom"]["secretKeyRef"]["key"] for container in all_containers(workload)
            for variable in container.get("env", []) if "secretKeyRef" in variable.get("valueFrom", {})}  # fmt: skip


def test_each_secret_reaches_only_the_workloads_compose_gives_it_to(
    manifests: list[dict[str, Any]], compose_services: dict[str, dict[str, Any]]
) -> None:
    for name, workload in workloads(manifests).items():
        service = compose_services[COMPOSE_SERVICE[name]]
        given = {match["name"] for value in environment_of(service).values() for match in INTERPOLATION.finditer(value)
                 if SECRET_NAME.search(match["name"])}  # fmt: skip
        assert secret_keys_used(workload) == given, name


def test_the_images_are_compose_s_with_the_project_s_files_in_them(
    manifests: list[dict[str, Any]], compose_services: dict[str, dict[str, Any]]
) -> None:
    images = {container["image"].rpartition(":")[0]: container["image"] for workload in workloads(manifests).values()
              for container in all_containers(workload)}  # fmt: skip
    assert set(images) == {*PROJECT_IMAGES, "postgres"}
    assert images["postgres"] == compose_services["postgres"]["image"]
    froms = {image: [arguments for instruction, arguments in dockerfile_instructions(path) if instruction == "FROM"]
             for image, path in PROJECT_IMAGES.items()}  # fmt: skip
    # The Rasa image: the stage compose builds (`target`, FROM rasa/rasa), then the mounts copied in.
    rasa_build = compose_services["rasa"]["build"]
    assert (PROJECT_ROOT / rasa_build["context"] / rasa_build["dockerfile"]).resolve() == PROJECT_IMAGES[
        "ms-trial-assistant/rasa"
    ]
    stage = rasa_build["target"]
    assert froms["ms-trial-assistant/rasa"] == [f"{RASA_IMAGE} AS {stage}", stage]
    assert froms["ms-trial-assistant/web"] == [compose_services["web"]["image"]]
    # The actions image: docker/actions/Dockerfile itself, which compose builds (tests/test_compose.py).
    assert compose_services["action-server"]["build"]["dockerfile"] == "docker/actions/Dockerfile"
    versions = {
        image.rpartition(":")[2] for image in images.values() if image.rpartition(":")[0] in PROJECT_IMAGES
    }
    assert len(versions) == 1 and VERSION_TAG.fullmatch(versions.pop())


@pytest.mark.parametrize("name, left_out", [("rasa", set()), ("web", {"/etc/nginx/nginx.conf"})])
def test_the_project_images_hold_what_compose_mounts(
    compose_services: dict[str, dict[str, Any]], name: str, left_out: set[str]
) -> None:
    """The files compose mounts, copied to the same places (nginx.conf comes from a ConfigMap)."""
    dockerfile = PROJECT_IMAGES[f"ms-trial-assistant/{name}"]
    mounted = {mount["target"].rstrip("/"): mount["source"].removeprefix("./").rstrip("/")
               for mount in bind_mounts(compose_services[name]) if mount["target"] not in left_out}  # fmt: skip
    copied = {}
    for instruction, arguments in dockerfile_instructions(dockerfile):
        if instruction == "COPY":
            source, target = arguments.split()
            copied[target.rstrip("/")] = source.rstrip("/")
    assert copied == mounted
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
    for source in copy_sources(dockerfile):
        # A folder's files: the model `make train` writes, the socket.io client `make web` installs.
        inside = {"models/": "assistant.tar.gz"}.get(source, "x.js") if source.endswith("/") else ""
        assert sent_to_docker(f"{source}{inside}", ignore), source
    assert not [path for path in (".env", ".venv/bin/python", ".git/HEAD", "var/knowledge.db", "results/x.json",
                                  ".tools-venv/bin/python", "deploy/kubernetes/secrets.env") if sent_to_docker(path, ignore)]  # fmt: skip


def test_the_commands_are_compose_s(
    manifests: list[dict[str, Any]], compose_services: dict[str, dict[str, Any]]
) -> None:
    final = dict(dockerfile_instructions(PROJECT_IMAGES["ms-trial-assistant/rasa"]))
    assert json.loads(final["ENTRYPOINT"]) == compose_services["rasa"]["entrypoint"]
    found = workloads(manifests)
    assert "command" not in pod_spec(found["rasa"])["containers"][0]
    assert "command" not in pod_spec(found["action-server"])["containers"][0]  # the image's server
    assert (
        pod_spec(found["knowledge-loader"])["containers"][0]["command"]
        == compose_services["knowledge-loader"]["entrypoint"]
    )
    assert pod_spec(found["knowledge-loader"])["restartPolicy"] == "Never"
    for workload in workloads(manifests).values():
        assert (
            pod_spec(workload)["enableServiceLinks"] is False
        )  # no RASA_PORT=tcp://... from the `rasa` Service


def test_the_limits_are_compose_s_and_hold_what_the_servers_were_measured_to_use(
    manifests: list[dict[str, Any]], compose_services: dict[str, dict[str, Any]]
) -> None:
    measured = measured_peak_memory()
    for name, workload in workloads(manifests).items():
        if name == "database-setup":
            continue  # psql for a moment, not compose's PostgreSQL server
        limits = pod_spec(workload)["containers"][0]["resources"]["limits"]
        compose_limits = resource_limits(compose_services[COMPOSE_SERVICE[name]])
        assert quantity(limits["cpu"]) == float(compose_limits["cpus"]), name
        assert quantity(limits["memory"]) == size_in_bytes(compose_limits["memory"]), name
    for name, label in (("rasa", "Rasa server"), ("action-server", "action server")):
        spec = pod_spec(workloads(manifests)[name])
        in_memory = sum(quantity(volume["emptyDir"]["sizeLimit"]) for volume in spec["volumes"]
                        if (volume.get("emptyDir") or {}).get("medium") == "Memory")  # fmt: skip
        resources = spec["containers"][0]["resources"]
        assert quantity(resources["limits"]["memory"]) >= 1.25 * measured[label] * MIB + in_memory, name
        assert quantity(resources["requests"]["memory"]) >= measured[label] * MIB, name


def test_only_compose_s_scratch_folders_are_writable_and_of_the_same_size(
    manifests: list[dict[str, Any]], compose_services: dict[str, dict[str, Any]]
) -> None:
    for name, workload in workloads(manifests).items():
        spec = pod_spec(workload)
        scratch = {volume["name"]: volume["emptyDir"] for volume in spec["volumes"] if "emptyDir" in volume}
        writable = {mount["mountPath"]: scratch[mount["name"]] for mount in spec["containers"][0]["volumeMounts"]
                    if mount["name"] in scratch}  # fmt: skip
        assert all(mount.get("readOnly") for mount in spec["containers"][0]["volumeMounts"]
                   if mount["name"] not in scratch), name  # fmt: skip
        if name == "database-setup":
            assert set(writable) == {"/tmp"}
            continue
        tmpfs = tmpfs_mounts(compose_services[COMPOSE_SERVICE[name]])
        assert set(writable) == set(tmpfs), name
        for path, volume in writable.items():
            assert volume["medium"] == "Memory", (name, path)  # as tmpfs: in memory, counted in the limit
            assert quantity(volume["sizeLimit"]) == size_in_bytes(tmpfs[path]["size"]), (name, path)


def test_nginx_and_the_database_set_up_run_compose_s_very_files() -> None:
    assert (BASE / "web" / "nginx.conf").read_bytes() == NGINX_CONF.read_bytes()
    scripts = sorted(POSTGRES_INIT.glob("*.sh"))
    assert [script.name for script in scripts] == ["10-databases.sh"]
    assert (DATABASE_SETUP / "10-databases.sh").read_bytes() == scripts[0].read_bytes()
    for folder, files in (
        (BASE, ["web/nginx.conf", "web/start-nginx.sh"]),
        (DATABASE_SETUP, ["10-databases.sh"]),
    ):
        generated = [
            file
            for generator in kustomization(folder)["configMapGenerator"]
            for file in generator.get("files", [])
        ]
        assert set(files) <= set(generated)


# ---------------------------------------------------------------------------------------------
# deploy.env.example, one to one onto the ConfigMap and the Secrets


def env_file(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip()
    return found


def settings_map() -> dict[str, tuple[str, str]]:
    """{variable: (kind, object name)}: the table in deploy/kubernetes/README.md."""
    rows = re.findall(r"^\| `([A-Z_]+)` \| (Secret|ConfigMap) `([a-z-]+)` \|", README.read_text(), re.M)
    mapped: dict[str, tuple[str, str]] = {}
    for variable, kind, name in rows:
        assert variable not in mapped, f"{variable} is mapped twice"
        mapped[variable] = (kind, name)
    return mapped


def test_every_setting_of_deploy_env_example_maps_to_one_key(manifests: list[dict[str, Any]]) -> None:
    example = env_file(ENV_EXAMPLE)
    mapped = settings_map()
    assert set(mapped) == set(example)
    in_config = {variable for variable, (kind, _) in mapped.items() if kind == "ConfigMap"}
    assert {name for kind, name in mapped.values() if kind == "ConfigMap"} == {"assistant-settings"}
    for settings in (BASE / "settings.env", PRODUCTION / "settings.env"):
        assert env_file(settings) == {variable: example[variable] for variable in in_config}, settings
    assert not {variable for variable in in_config if SECRET_NAME.search(variable)}
    # Every Secret key a workload reads is one variable, mapped onto that Secret, and back.
    used: dict[str, set[str]] = {}
    for workload in workloads(manifests).values():
        for container in all_containers(workload):
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    used.setdefault(reference["name"], set()).add(reference["key"])
    assert used == {name: {variable for variable, (kind, secret) in mapped.items() if (kind, secret) == ("Secret", name)}
                    for name in used}  # fmt: skip
    assert {variable for variable, (kind, _) in mapped.items() if kind == "Secret"} == set().union(
        *used.values()
    )
    assert set(env_file(SECRETS_EXAMPLE)) == used["assistant-secrets"]
    assert set(env_file(SECRETS_EXAMPLE).values()) == {""}
    # Every ConfigMap key is read somewhere: by a container, or (WEB_PORT) by the web Service.
    config_read = {variable["valueFrom"]["configMapKeyRef"]["key"] for workload in workloads(manifests).values()
                   for container in all_containers(workload) for variable in container.get("env", [])
                   if "configMapKeyRef" in variable.get("valueFrom", {})}  # fmt: skip
    assert config_read | {"WEB_PORT"} == in_config


def test_the_web_service_is_published_on_web_port(production: list[dict[str, Any]]) -> None:
    settings = next(resource for name, resource in of_kind(production, "ConfigMap").items()
                    if name.startswith("assistant-settings-"))  # fmt: skip
    assert [entry["port"] for entry in of_kind(production, "Service")["web"]["spec"]["ports"]] == [
        int(settings["data"]["WEB_PORT"])
    ]


# ---------------------------------------------------------------------------------------------
# What the pods run besides the servers


def init_script(name: str) -> str:
    deployment = of_kind(load_documents(BASE / "action-server.yaml"), "Deployment")["action-server"]
    (container,) = [
        container for container in pod_spec(deployment)["initContainers"] if container["name"] == name
    ]
    assert container["command"][:2] == ["python", "-c"]
    return container["command"][2]


def test_the_action_servers_wait_until_the_knowledge_is_loaded(tmp_path: Path) -> None:
    """Their init container, run here on SQLite: it waits while the store is missing or empty,
    and lets the server start once the loader has loaded it."""
    from actions.loader import DEFAULT_KNOWLEDGE_DIR, load_knowledge

    script = init_script("wait-for-knowledge")
    url = f"sqlite:///{tmp_path / 'knowledge.db'}"
    environment = {**os.environ, "KNOWLEDGE_DB_URL": url, "CHECK_SECONDS": "0.2"}
    waiting = subprocess.Popen([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=environment,
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        time.sleep(2)
        assert waiting.poll() is None, "it did not wait for the load"
        load_knowledge(DEFAULT_KNOWLEDGE_DIR, url)
        output, _ = waiting.communicate(timeout=30)
    finally:
        waiting.kill()
    assert waiting.returncode == 0
    assert "The knowledge store is not ready: OperationalError" in output  # no table yet


def test_nginx_is_reloaded_when_the_rasa_servers_change(tmp_path: Path) -> None:
    """web/start-nginx.sh with stand-ins for getent (the Rasa servers' addresses, from a file)
    and nginx (which writes down how it was called)."""
    bin_dir, calls, addresses = tmp_path / "bin", tmp_path / "calls", tmp_path / "addresses"
    bin_dir.mkdir()
    (bin_dir / "getent").write_text(f'#!/bin/sh\n[ "$1" = hosts ] && [ "$2" = rasa ] && cat {addresses}\n')
    (bin_dir / "nginx").write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\ncase "$1 ${{2:-}}" in\n'
        f"  -g*) echo $$ > {tmp_path / 'pid'}; trap 'exit 0' TERM; while :; do sleep 0.1; done ;;\n"
        f"  '-s quit') kill \"$(cat {tmp_path / 'pid'})\" ;;\nesac\n"
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    addresses.write_text("")
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CHECK_SECONDS": "0.2"}
    script = subprocess.Popen(["sh", str(BASE / "web" / "start-nginx.sh")], env=environment,
                              stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip

    def wait_for(lines: list[str]) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if calls.exists() and calls.read_text().splitlines() == lines:
                return
            time.sleep(0.1)
        raise AssertionError(calls.read_text() if calls.exists() else "nginx never called")

    try:
        time.sleep(0.6)
        assert not calls.exists(), "nginx started with no Rasa server to pass to"
        addresses.write_text("10.0.0.1 rasa\n")
        wait_for(["-g daemon off;"])
        addresses.write_text("10.0.0.2 rasa\n10.0.0.1 rasa\n")
        wait_for(["-g daemon off;", "-s reload"])
        addresses.write_text("10.0.0.1 rasa\n10.0.0.2 rasa\n")  # the same servers, another order
        time.sleep(0.8)
        wait_for(["-g daemon off;", "-s reload"])
        script.terminate()
        wait_for(["-g daemon off;", "-s reload", "-s quit"])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(script.pid, signal.SIGKILL)  # the script and its stand-in nginx
        script.wait(timeout=10)
    config = of_kind(load_documents(BASE / "web.yaml"), "Deployment")["web"]
    assert pod_spec(config)["containers"][0]["command"] == ["sh", "/etc/nginx/kubernetes/start-nginx.sh"]


# ---------------------------------------------------------------------------------------------
# The tools environment, installed by the project's own files


def test_the_tools_environment_is_pinned_and_installed_by_make_test() -> None:
    for line in TOOLS_REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.]+", line), f"not pinned: {line}"
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    test_target = re.search(r"^test: (.*?)##", makefile, re.M).group(1).split()
    assert "$(TOOLS_INSTALLED)" in test_target
    assert re.search(r"^\$\(TOOLS_INSTALLED\): tools/requirements.txt$", makefile, re.M)
    assert ".tools-venv/" in (PROJECT_ROOT / ".gitignore").read_text().splitlines()


def test_the_readmes_commands_name_what_is_here(production: list[dict[str, Any]]) -> None:
    """Each `kubectl apply -k` folder exists, a `-l` selects only the objects it is for, and the
    Secrets created are the ones the workloads read."""
    text = README.read_text() + (PROJECT_ROOT / "README.md").read_text()
    applied = re.findall(r"kubectl apply -k (\S+)(?: -l (\S+))?", text)
    assert {folder for folder, _ in applied} == {
        str(path.relative_to(PROJECT_ROOT)) for path in (PRODUCTION, DATABASE_SETUP)
    }
    for folder, selector in applied:
        assert (PROJECT_ROOT / folder / "kustomization.yaml").exists(), folder
        if selector:
            key, _, value = selector.partition("=")
            chosen = [(resource["kind"], resource["metadata"]["name"]) for resource in render(PROJECT_ROOT / folder)
                      if resource["metadata"].get("labels", {}).get(key) == value]  # fmt: skip
            assert chosen == [("Service", "postgres")], selector
    created = set(re.findall(r"create secret generic ([a-z-]+)", text))
    read = {variable["valueFrom"]["secretKeyRef"]["name"] for workload in workloads(production).values()
            for container in all_containers(workload) for variable in container.get("env", [])
            if "secretKeyRef" in variable.get("valueFrom", {})}  # fmt: skip
    assert created == read
