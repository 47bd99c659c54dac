"""Run the real jobs in-process against a real (temporary) Dagster instance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import dagster as dg


def run_partitions(instance: dg.DagsterInstance, keys: Iterable[str], publish: bool = True) -> list:
    """The graph for `keys` in backfill order (pool_job per key, clusters_job once, partition_job per
    key, then publish_job unless `publish` is False); returns the results (all asserted successful)."""
    from rs_assets.definitions import defs
    from rs_assets.defs.jobs import in_backfill_order
    from rs_assets.lib.stages import JOBS

    jobs = [j for j in JOBS if publish or j != "publish"]
    results = []
    for job, key, result in in_backfill_order(defs(), instance, keys, jobs):
        assert result.success, (job, key)
        results.append(result)
    return results


def failed_checks(results: list) -> list[str]:
    """Every check evaluation that did not pass, named asset:check."""
    return [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for r in results
        for e in r.get_asset_check_evaluations()
        if not e.passed
    ]


def evaluated_checks(results: list) -> set[str]:
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for r in results
        for e in r.get_asset_check_evaluations()
    }


def run_keys_subprocess(sources: Path, home: Path, keys: list[str]) -> dict:
    """`run_keys` in a fresh process with its own sources file and RS_ASSETS_HOME; its JSON summary."""
    env = {**os.environ, "RS_ASSETS_SOURCES": str(sources), "RS_ASSETS_HOME": str(home)}
    env.pop("RS_ASSETS_LAKE", None)
    out = subprocess.run(
        [sys.executable, "-m", "rs_assets_tests.run_keys", *keys],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
