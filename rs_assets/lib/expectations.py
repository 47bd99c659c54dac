"""Column-level rules as great-expectations 1.x suites (DESIGN 7), from each stage's registry entry.

An ephemeral context, a pandas datasource and a whole-dataframe batch: no project folder, no
analytics, no progress bars. GE is imported lazily (it costs seconds per process).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import pyarrow as pa

from rs_assets.lib.stages import stage


@cache
def _batch_definition() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("rs_assets").add_dataframe_asset("table")
    return asset.add_batch_definition_whole_dataframe("whole")


def validate_table(table_name: str, table: pa.Table) -> tuple[bool, dict[str, Any]]:
    """Run the stage's suite; returns (success, {expectation: unexpected count}) for check metadata."""
    import great_expectations as gx

    rules = [(cls, kw) for cls, kw in stage(table_name).expectations() if kw["column"] in table.column_names]
    if not rules:
        return True, {"expectations": 0}
    suite = gx.ExpectationSuite(
        name=f"{table_name}_columns",
        expectations=[getattr(gx.expectations, cls)(**kw) for cls, kw in rules],
    )
    columns = sorted({kw["column"] for _, kw in rules})
    frame = table.select(columns).to_pandas()
    result = _batch_definition().get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    details = {
        f"{r.expectation_config.type}({r.expectation_config.kwargs['column']})": int(
            r.result.get("unexpected_count") or 0
        )
        for r in result.results
    }
    return bool(result.success), {"expectations": len(rules), **details}
