"""A run worker killed with SIGKILL while it holds the `image_clusters` pool slot must not freeze the pool:
with the shipped dagster.yaml, the real `dagster-daemon` (run monitoring) frees the dead run's slot and the
next clusters_job run succeeds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import dagster as dg
import pytest
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import InProcessTestWorkspaceLoadTarget
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext, WorkspaceRequestContext

REPO = Path(__file__).parents[1]
POOL = "image_clusters"
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
T = TypeVar("T")


def _reset_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Poll `probe` (every 50 ms) until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def proc_stat(pid: str) -> list[str]:
    """/proc/<pid>/stat fields after the command name: [state, ppid, ...]; [] once the process is gone."""
    try:
        return (Path("/proc") / pid / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid`."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and (fields := proc_stat(proc.name)):
            children.setdefault(int(fields[1]), []).append(int(proc.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies aside)."""
    return any(
        len(f := proc_stat(p.name)) > 2 and f[2] == str(pgid) and f[0] != "Z"
        for p in Path("/proc").iterdir()
        if p.name.isdigit()
    )


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the daemon's session (its code server and run workers too); SIGKILL what is left after 30 s.
    Waits until all are gone: a straggler would keep writing to this test's SQLite files."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        os.killpg(proc.pid, sig)
        deadline = time.monotonic() + 30
        while group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not group_alive(proc.pid):
            break
    proc.wait()


@pytest.fixture
def daemon_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """The instance of a DAGSTER_HOME holding the shipped dagster.yaml, served by a real `dagster-daemon`."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("RS_ASSETS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the code server and run workers import this checkout
    instance = dg.DagsterInstance.from_config(str(home))  # creates the SQLite schema before the daemon
    log = (tmp_path / "daemon.log").open("wb")  # the daemon's and the run workers' logs, for debugging
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster._daemon", "run", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_reset_signals,
    )
    try:
        yield instance
    finally:
        instance.dispose()
        stop_group(proc)
        log.close()


@pytest.fixture
def workspace(daemon_instance: dg.DagsterInstance) -> Iterator[WorkspaceRequestContext]:
    """A workspace with the `rs_assets` location (workspace.yaml's name: the daemon's code server runs it)."""
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="rs_assets.definitions", working_directory=str(REPO)),
        location_name="rs_assets",
    )
    with WorkspaceProcessContext(daemon_instance, InProcessTestWorkspaceLoadTarget(origin)) as workspace:
        yield workspace.create_request_context()


def submit(
    instance: dg.DagsterInstance,
    workspace: WorkspaceRequestContext,
    assets: list[str] | None = None,
    run_config: dict | None = None,
) -> str:
    """Queue a clusters_job run (image_clusters, the pool's only user), as the UI's launchpad does; the
    daemon dequeues and launches it."""
    location = workspace.get_code_location("rs_assets")
    repo = location.get_repository("__repository__")
    selection = {dg.AssetKey(a) for a in assets} if assets else None
    job = location.get_job(JobSubsetSelector("rs_assets", repo.name, "clusters_job", None, selection))
    plan = location.get_execution_plan(
        job, run_config or {}, step_keys_to_execute=None, known_state=None, instance=instance
    )
    run = instance.create_run(
        job_name=job.name,
        run_id=None,
        run_config=run_config or {},
        resolved_op_selection=None,
        step_keys_to_execute=None,
        op_selection=None,
        status=None,
        root_run_id=None,
        parent_run_id=None,
        tags=dict(job.tags),
        job_snapshot=job.job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        parent_job_snapshot=job.parent_job_snapshot,
        remote_job_origin=job.get_remote_origin(),
        job_code_origin=job.get_python_origin(),
        asset_selection=frozenset(selection) if selection else None,
        asset_check_selection=None,
        asset_graph=repo.asset_graph,
    )
    return instance.submit_run(run.run_id, workspace).run_id


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's pid, from its "Started process for run" engine event."""
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records:
        metadata = record.event_log_entry.dagster_event.event_specific_data.metadata or {}
        if "pid" in metadata and "Started process for run" in record.event_log_entry.message:
            return int(metadata["pid"].value)
    return None


def holders(instance: dg.DagsterInstance) -> set[str]:
    return {slot.run_id for slot in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots}


def finished(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRun | None:
    run = instance.get_run_by_id(run_id)
    return run if run and run.is_finished else None


def test_run_killed_holding_the_pool_slot_does_not_freeze_the_pool(
    daemon_instance: dg.DagsterInstance, workspace: WorkspaceRequestContext
) -> None:
    instance = daemon_instance
    # The first run only has to take the slot (on the empty lake it could not do more): image_clusters
    # alone, on the default multiprocess executor, whose orchestrator claims the slot and then spends
    # seconds booting the step's process, a wide window to catch it in.
    first = submit(instance, workspace, assets=[POOL])
    wait_for(
        f"run {first} to claim the {POOL} slot",
        lambda: first in holders(instance) or finished(instance, first),
        90,
    )
    assert first in holders(instance), instance.get_run_by_id(first).status
    pid = worker_pid(instance, first)
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # frozen: it can neither free the slot nor start more processes
    wait_for(f"worker {pid} to stop", lambda: proc_stat(str(pid))[:1] == ["T"], 10)
    for victim in [pid, *descendants(pid)]:  # the worker and its step process, as a host or cgroup kill
        os.kill(victim, signal.SIGKILL)
    assert first in holders(instance)  # died holding the slot: SIGKILL runs no cleanup

    second = submit(instance, workspace, run_config=IN_PROCESS)  # the whole clusters_job, in one process
    killed = wait_for(f"run {first} to be marked finished", lambda: finished(instance, first), 30)
    assert killed.status == dg.DagsterRunStatus.FAILURE
    done = wait_for(f"run {second} to finish (pool {POOL} frozen?)", lambda: finished(instance, second), 120)
    assert done.status == dg.DagsterRunStatus.SUCCESS
    assert holders(instance) == set()
    latest = instance.get_latest_materialization_event(dg.AssetKey(POOL))
    assert latest is not None and latest.run_id == second
