"""`dg.materialize` of raw_scrape + filtered_pool partitions for a sources file of the test's own, in
process (definitions are built from a sources file at load, never at import)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from rs_assets.defs.filtered_pool.assets import build as build_pool
from rs_assets.defs.project import load_project
from rs_assets.defs.raw_scrape.assets import build as build_raw
from rs_assets.defs.resources import ExecutorResource, LakeResource, PoolResource


def _messages(error: Any) -> str:
    """The messages of a serialised error and of its causes (the asset's own error is a cause)."""
    parts = []
    while error is not None:
        parts.append(error.message.strip())
        error = error.cause
    return " <- ".join(parts)


class MaterializeWorker:
    """`run(key)` materialises one partition and returns success, step failure messages and checks."""

    def __init__(self, sources: Path, home: Path) -> None:
        self.home = home
        project = load_project(sources)
        self.assets = [build_raw(project), build_pool(project)]
        (home / "dagster").mkdir(parents=True, exist_ok=True)
        self._instance_cm = dg.instance_for_test(temp_dir=str(home / "dagster"))
        self.instance = self._instance_cm.__enter__()

    def run(self, key: str) -> dict[str, Any]:
        result = dg.materialize(
            self.assets,
            instance=self.instance,
            resources={
                "lake": LakeResource(root=str(self.home / "lake")),
                "pool": PoolResource(workers=1),
                "executor": ExecutorResource(),
            },
            partition_key=key,
            raise_on_error=False,
        )
        return {
            "success": result.success,
            "failures": [
                _messages(e.step_failure_data.error) for e in result.all_events if e.is_step_failure
            ],
            "checks": {
                f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed
                for e in result.get_asset_check_evaluations()
            },
        }

    def close(self) -> None:
        self._instance_cm.__exit__(None, None, None)
