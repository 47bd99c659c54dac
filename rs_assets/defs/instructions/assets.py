"""instruction_sets: LLaVA conversations per canonical image and task (RS-GPT4V style)."""

import dagster as dg
import pyarrow as pa

from rs_assets.defs.common import (
    LakeResource,
    contract_results,
    counts,
    partition,
    partition_asset,
    read_global,
    read_partition,
    write_partition,
)
from rs_assets.lib.instructions import build_instructions
from rs_assets.lib.reconcile import coverage_reconciliation
from rs_assets.lib.selection import canonical_records
from rs_assets.lib.tables import from_rows

EXTRA = pa.schema([("prompt_id", pa.string()), ("status", pa.string()), ("skip_reason", pa.string())])


@partition_asset(
    deps=["captions", "image_clusters"],
    kinds={"parquet"},
    description="One row per (canonical image, task): a LLaVA conversation, or `skipped` with a reason.",
)
def instruction_sets(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    source, year, cfg = partition(context)
    store = lake.lake()
    raw = read_partition(store, "raw_scrape", source, year)
    records = canonical_records(raw, read_global(store, "image_clusters"))
    caps = read_partition(
        store, "captions", source, year, ["caption_id", "image_id", "strategy", "text", "status"]
    )
    table = from_rows(
        "instruction_sets", build_instructions(records.to_pylist(), caps.to_pylist(), cfg.instructions), EXTRA
    )
    metadata = write_partition(
        context, store, "instruction_sets", table, source=source, year=year, config=cfg
    )
    expected = {(i, t) for i in records["image_id"].to_pylist() for t in cfg.instructions}
    produced = set(zip(table["image_id"].to_pylist(), table["task"].to_pylist(), strict=True))
    ok_tasks = [
        t for t, s in zip(table["task"].to_pylist(), table["status"].to_pylist(), strict=True) if s == "ok"
    ]
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "conversations": len(ok_tasks),
            "task_counts": counts(ok_tasks),
            "skip_reasons": counts(r for r in table["skip_reason"].to_pylist() if r),
        },
        check_results=contract_results(
            "instruction_sets",
            table,
            source=source,
            year=year,
            reconciliation=coverage_reconciliation(expected, produced, "image_tasks"),
        ),
    )
