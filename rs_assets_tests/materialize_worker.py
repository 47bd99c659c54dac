"""`dg.materialize` of raw_scrape + filtered_pool partitions in one long-lived child process.

Definitions read the sources file at import, so a test whose sources name a loopback site's port
needs its own process; one child serves several runs (imports cost seconds, a run far less). The
child reads partition keys on stdin and answers each with one JSON line: success, the step failure
messages and every check result. `python -m rs_assets_tests.materialize_worker` (env: sources, home,
DAGSTER_HOME).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

ANSWER = "@@materialized "
TIMEOUT_S = 60.0


class MaterializeWorker:
    """The parent side: `run(key)` materialises one partition and returns the child's answer."""

    def __init__(self, sources: Path, home: Path) -> None:
        self.home = home
        self.stderr_path = home / "worker.stderr"
        home.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "RS_ASSETS_SOURCES": str(sources),
            "RS_ASSETS_HOME": str(home),
            "DAGSTER_HOME": str(home / "dagster"),
        }
        env.pop("RS_ASSETS_LAKE", None)
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rs_assets_tests.materialize_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
        )

    def run(self, key: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(key + "\n")
        self.proc.stdin.flush()
        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT_S)
            line = self.proc.stdout.readline() if ready else ""
            if not line:
                raise AssertionError(
                    f"worker gave no answer for {key}: {self.stderr_path.read_text()[-3000:]}"
                )
            if line.startswith(ANSWER):
                return json.loads(line[len(ANSWER) :])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


def _messages(error: Any) -> str:
    """The messages of a serialised error and of its causes (the asset's own error is a cause)."""
    parts = []
    while error is not None:
        parts.append(error.message.strip())
        error = error.cause
    return " <- ".join(parts)


def main() -> None:
    import dagster as dg

    from rs_assets.defs.common import LakeResource
    from rs_assets.defs.ingest.assets import raw_scrape
    from rs_assets.defs.pool.assets import filtered_pool

    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    with dg.instance_for_test(temp_dir=os.environ["DAGSTER_HOME"]) as instance:
        for line in sys.stdin:
            result = dg.materialize(
                [raw_scrape, filtered_pool],
                instance=instance,
                resources={"lake": LakeResource()},
                partition_key=line.strip(),
                raise_on_error=False,
            )
            answer = {
                "success": result.success,
                "failures": [
                    _messages(e.step_failure_data.error) for e in result.all_events if e.is_step_failure
                ],
                "checks": {
                    f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed
                    for e in result.get_asset_check_evaluations()
                },
            }
            print(ANSWER + json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
