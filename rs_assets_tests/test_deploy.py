"""The deployment files under deploy/ are parsed and checked against the code and each other, statically
(no Docker daemon or cluster here): what they start exists, what they configure matches the instance
configs the other tests run, and the Helm values use the official Dagster chart's value names."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
# Top-level value names of the official Dagster chart (helm/dagster/values.yaml, 1.x) we may set.
CHART_VALUES = {
    "global",
    "nameOverride",
    "fullnameOverride",
    "rbacEnabled",
    "serviceAccount",
    "imagePullSecrets",
    "dagsterWebserver",
    "dagster-user-deployments",
    "runLauncher",
    "postgresql",
    "generatePostgresqlPasswordSecret",
    "generateCeleryConfigSecret",
    "rabbitmq",
    "redis",
    "flower",
    "ingress",
    "dagsterDaemon",
    "busybox",
    "computeLogManager",
    "pythonLogs",
    "retention",
    "scheduler",
    "telemetry",
    "serviceMonitor",
    "extraManifests",
}
RUN_LAUNCHERS = {"K8sRunLauncher", "CeleryK8sRunLauncher", "CustomRunLauncher"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def test_compose_services_start_what_exists() -> None:
    compose = load(DEPLOY / "docker-compose.yaml")
    services = compose["services"]
    assert {"postgres", "minio", "code", "webserver", "daemon", "ray-head", "ray-worker"} <= set(services)
    for name, svc in services.items():
        for dep in svc.get("depends_on", []):
            assert dep in services, f"{name} depends on unknown service {dep}"
        if "build" in svc:
            assert (REPO / "deploy" / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
    module = services["code"]["command"][services["code"]["command"].index("-m") + 1]
    assert importlib.import_module(module)
    workspace = load(DEPLOY / "workspace.docker.yaml")["load_from"][0]["grpc_server"]
    assert workspace["host"] == "code" and str(workspace["port"]) in services["code"]["command"]
    assert workspace["location_name"] == pyproject()["tool"]["dg"]["project"]["code_location_name"]
    for svc in ("webserver", "daemon"):
        mount = services[svc]["volumes"][0].split(":")
        assert (DEPLOY / mount[0]).resolve() == DEPLOY / "workspace.docker.yaml" and mount[1] in services[
            svc
        ]["command"]


def test_compose_environment_matches_the_instance_config_and_the_readme() -> None:
    env = load(DEPLOY / "docker-compose.yaml")["services"]["code"]["environment"]
    instance = (DEPLOY / "dagster.postgres.yaml").read_text()
    assert set(re.findall(r"\{env: (DAGSTER_PG_\w+)\}", instance)) <= set(env)
    readme = (REPO / "README.md").read_text()
    assert all(f"`{v}`" in readme for v in env if v.startswith("RS_ASSETS_"))
    assert env["RS_ASSETS_LAKE"].startswith("s3://") and env["RS_ASSETS_EXECUTOR"] == "ray"


def test_dockerfile_installs_pinned_extras_that_exist() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    extras = re.search(r"ARG EXTRAS=([\w,]+)", text).group(1).split(",")
    assert set(extras) <= set(pyproject()["project"]["optional-dependencies"])
    assert "-c deploy/constraints.txt" in text and "INSTALL httpfs" in text
    for src in re.findall(r"^COPY (\S+)", text, flags=re.M):
        assert (REPO / src).exists(), src


def test_helm_values_use_chart_names_and_match_the_instance() -> None:
    values = load(DEPLOY / "helm" / "values.yaml")
    assert set(values) <= CHART_VALUES
    assert values["runLauncher"]["type"] in RUN_LAUNCHERS
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert importlib.import_module(args[args.index("-m") + 1])
    instance = load(DEPLOY / "dagster.postgres.yaml")
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    shared = {k: v for k, v in instance["run_monitoring"].items() if camel(k) in monitoring}
    assert {"enabled", "max_resume_run_attempts", "free_slots_after_run_end_seconds"} <= set(shared)
    assert all(monitoring[camel(k)] == v for k, v in shared.items())
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queue["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    assert queue["tagConcurrencyLimits"] == instance["concurrency"]["runs"]["tag_concurrency_limits"]
    assert (
        values["postgresql"]["postgresqlScheme"] == instance["storage"]["postgres"]["postgres_db"]["scheme"]
    )


def test_raycluster_runs_the_same_image_and_ray_version() -> None:
    cluster = load(DEPLOY / "kuberay" / "raycluster.yaml")
    assert (cluster["apiVersion"], cluster["kind"]) == ("ray.io/v1", "RayCluster")
    values = load(DEPLOY / "helm" / "values.yaml")
    image = values["dagster-user-deployments"]["deployments"][0]["image"]
    wanted = f"{image['repository']}:{image['tag']}"
    groups = [cluster["spec"]["headGroupSpec"], *cluster["spec"]["workerGroupSpecs"]]
    assert all(c["image"] == wanted for g in groups for c in g["template"]["spec"]["containers"])
    pinned = re.search(r"^ray==(\S+)$", (DEPLOY / "constraints.txt").read_text(), flags=re.M).group(1)
    assert cluster["spec"]["rayVersion"] == pinned
    ray_address = next(
        e["value"]
        for e in values["dagster-user-deployments"]["deployments"][0]["env"]
        if e["name"] == "RAY_ADDRESS"
    )
    assert cluster["metadata"]["name"] + "-head-svc" in ray_address
