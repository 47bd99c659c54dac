"""Column-level rules as great-expectations 1.x suites (DESIGN 7).

An ephemeral context, a pandas datasource and a whole-dataframe batch: no project folder, no
analytics, no progress bars. GE is imported lazily (it costs seconds per process).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import pyarrow as pa

from rs_assets.lib.llm.request import STATUSES as CAPTION_STATUSES
from rs_assets.lib.records import DROP_REASONS, RAW_STATUSES
from rs_assets.lib.sources import INSTRUCTION_TASKS
from rs_assets.lib.splits import SPLITS


def _rules() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """(expectation class name, kwargs) per table; GE ignores nulls in value rules."""
    geo = [
        ("ExpectColumnValuesToBeBetween", {"column": "lat", "min_value": -90, "max_value": 90}),
        ("ExpectColumnValuesToBeBetween", {"column": "lon", "min_value": -180, "max_value": 180}),
    ]
    return {
        "raw_scrape": [
            ("ExpectColumnValuesToBeInSet", {"column": "status", "value_set": list(RAW_STATUSES)}),
            ("ExpectColumnValuesToBeBetween", {"column": "width", "min_value": 1, "max_value": 200_000}),
            ("ExpectColumnValuesToBeBetween", {"column": "height", "min_value": 1, "max_value": 200_000}),
            ("ExpectColumnValuesToBeBetween", {"column": "cloud_cover", "min_value": 0, "max_value": 1}),
            *geo,
        ],
        "filtered_pool": [
            ("ExpectColumnValuesToNotBeNull", {"column": "kept"}),
            ("ExpectColumnValuesToBeInSet", {"column": "drop_reason", "value_set": list(DROP_REASONS)}),
        ],
        "image_clusters": [
            ("ExpectColumnValuesToBeBetween", {"column": "cluster_size", "min_value": 1}),
            ("ExpectColumnValuesToNotBeNull", {"column": "cluster_id"}),
        ],
        "captions": [
            ("ExpectColumnValuesToBeInSet", {"column": "status", "value_set": list(CAPTION_STATUSES)}),
            ("ExpectColumnValuesToBeBetween", {"column": "cost_usd", "min_value": 0}),
            ("ExpectColumnValuesToNotBeNull", {"column": "strategy"}),
        ],
        "instruction_sets": [
            ("ExpectColumnValuesToBeInSet", {"column": "task", "value_set": list(INSTRUCTION_TASKS)}),
            ("ExpectColumnValuesToBeInSet", {"column": "status", "value_set": ["ok", "skipped"]}),
        ],
        "benchmark_splits": [
            ("ExpectColumnValuesToBeInSet", {"column": "split", "value_set": list(SPLITS)}),
            ("ExpectColumnValuesToNotBeNull", {"column": "cluster_id"}),
        ],
    }


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
    """Run the table's suite; returns (success, {expectation: unexpected count}) for check metadata."""
    import great_expectations as gx

    rules = [(cls, kw) for cls, kw in _rules().get(table_name, []) if kw["column"] in table.column_names]
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
