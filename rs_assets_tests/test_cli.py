"""The user-facing commands: `rs-assets demo` (what `make demo` runs) on the bundled demo sources into a
fresh Dagster home, then `rs-assets sql` and `rs-assets estimate` on its catalog and lake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

REPO = Path(__file__).parents[1]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rs_assets.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=REPO,
    )


def test_demo_then_sql_and_estimate(tmp_path: Path) -> None:
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "RS_ASSETS_HOME": str(tmp_path / "home")}
    for name in ("RS_ASSETS_SOURCES", "RS_ASSETS_LAKE", "RS_ASSETS_LLM", "OPENAI_API_KEY"):
        env.pop(name, None)  # the bundled demo, offline
    demo = _cli("demo", env=env)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "publish_job (all partitions): ok" in demo.stdout
    assert demo.stdout.count("clusters_job") == 1  # once, not once per partition
    rows = {
        line.split()[0]: int(line.split()[1])
        for line in demo.stdout.splitlines()
        if line.startswith("  ") and len(line.split()) == 2 and line.split()[1].isdigit()
    }
    assert rows["raw_scrape"] == 3 * 40 and all(n > 0 for n in rows.values()), rows
    # the runs are in the instance `make ui` reads, with their check results
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 3 + 1 + 3 + 1 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    funnel = _cli("sql", "sql/queries/drop_reason_funnel.sql", env=env)
    assert funnel.returncode == 0 and "(kept)" in funnel.stdout and "decode_error" in funnel.stdout
    estimate = _cli("estimate", "demo_synthetic|2020", env=env)
    assert estimate.returncode == 0, estimate.stderr[-2000:]
    assert "est_cost_usd" in estimate.stdout and "calls                    0" in estimate.stdout
