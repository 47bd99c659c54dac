"""The code location loads, and its shape (assets, partitions, checks, jobs) matches the snapshot.

Regenerate the snapshot after an intended change: `UPDATE_SNAPSHOTS=1 make test PYTEST_ARGS=-k snapshot`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from rs_assets.lib.stages import STAGES

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def shape() -> dict:
    from rs_assets.definitions import defs

    loaded = defs()
    graph = loaded.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        pdef = node.partitions_def
        spec = loaded.resolve_assets_def(key).get_asset_spec(key)
        automation = spec.automation_condition
        assets[key.to_user_string()] = {
            "partitions": None if pdef is None else sorted(d.name for d in pdef.partitions_defs),
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": sorted(c.name for c in node.check_keys),
            "description": spec.description,
            "group": spec.group_name,
            "kinds": sorted(spec.kinds),
            "tags": dict(sorted(spec.tags.items())),
            "owners": sorted(spec.owners),
            "automation_condition": None if automation is None else automation.get_label() or str(automation),
            "pool": (node.pools and sorted(node.pools)) or None,
        }
    graph_jobs = [j for j in loaded.jobs or [] if not j.name.startswith("__")]
    return {
        "assets": assets,
        "jobs": {j.name: sorted(k.to_user_string() for k in j.selection.resolve(graph)) for j in graph_jobs},
        "schedules": {s.name: {"cron": s.cron_schedule, "job": s.job_name} for s in loaded.schedules or []},
        "sensors": {s.name: str(s.default_status.value) for s in loaded.sensors or []},
        "resources": sorted(loaded.resources or {}),
    }


def test_definitions_load_with_every_registered_stage() -> None:
    from rs_assets.definitions import defs

    loaded = defs()
    keys = {k.to_user_string() for k in loaded.resolve_asset_graph().get_all_asset_keys()}
    assert keys == set(STAGES)
    pdef = loaded.resolve_assets_def("raw_scrape").partitions_def
    assert isinstance(pdef, dg.MultiPartitionsDefinition)
    assert "demo_synthetic|2020" in pdef.get_partition_keys()
    assert "tiny_synthetic|1990" in pdef.get_partition_keys()


def test_definitions_snapshot() -> None:
    current = shape()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_dagster_cli_loads_the_module(tmp_path: Path) -> None:
    """`dagster definitions validate` loads the code location as `dagster dev` would."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "rs_assets.definitions"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
