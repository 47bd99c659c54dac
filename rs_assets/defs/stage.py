"""Thin Dagster glue shared by the stage folders: the stage decorator, contract checks, lake I/O."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from rs_assets import __version__
from rs_assets.defs.automation import condition_for
from rs_assets.defs.project import Project
from rs_assets.lib.code_versions import code_version
from rs_assets.lib.expectations import validate_table
from rs_assets.lib.funnel import Funnel
from rs_assets.lib.lake import Lake, contact_sheet_key, content_hash, table_key
from rs_assets.lib.preview import Tile, contact_sheet
from rs_assets.lib.raw_scrape.connectors import redact_url
from rs_assets.lib.records import stable_hash
from rs_assets.lib.selection import unclustered_images
from rs_assets.lib.stages import job_name, schema_problems, stage

STAGE_GROUP = "rs_dataset"


DATA_VERSION = (
    "content_hash"  # metadata entry `write_partition` fills; `stage_asset` makes it the DataVersion
)


def file_metadata(
    context: dg.AssetExecutionContext, config: Any = None, asset: str | None = None
) -> dict[str, str]:
    """Key-value metadata carried in every Parquet file: run, code version, partition, config."""
    cfg = config.model_dump(mode="json") if hasattr(config, "model_dump") else config
    return {
        "rs_assets.run_id": context.run_id,
        "rs_assets.code_version": code_version(asset) if asset else __version__,
        "rs_assets.package_version": __version__,
        "rs_assets.partition_key": str(context.partition_key) if context.has_partition_key else "",
        "rs_assets.config_fingerprint": stable_hash(cfg),
        "rs_assets.config": redact_url(json.dumps(cfg, sort_keys=True, default=str)),
    }


def contract_specs(asset: str, *, reconcile: bool = True) -> list[dg.AssetCheckSpec]:
    """Blocking checks computed on the partition just written (DESIGN 7), plus the GE column suite."""
    names = {
        "schema": "contract columns present with their types",
        "unique_keys": f"{', '.join(stage(asset).keys)} non-null and unique",
    }
    if stage(asset).partitioned:
        names["year_matches_partition"] = "every row's source and year are the partition's"
    if reconcile:
        names["reconciliation"] = "rows in = kept + dropped with a reason"
    specs = [dg.AssetCheckSpec(n, asset=asset, description=d, blocking=True) for n, d in names.items()]
    specs.append(
        dg.AssetCheckSpec("column_expectations", asset=asset, description="great-expectations column suite")
    )
    return specs


def stage_asset(
    project: Project,
    *,
    kinds: set[str],
    deps: Sequence[str] = (),
    contract: bool = True,
    reconcile: bool = True,
    extra_checks: Sequence[dg.AssetCheckSpec] = (),
    **asset_args: Any,
) -> Any:
    """The asset of a registered stage (named after the function): its partitions, group, description
    and contract checks come from the stage registry, its automation condition from its job
    (`defs/automation.py`); its `code_version` from the source and prompt files it runs
    (`lib/code_versions.py`), and each materialisation's data version from the content hash
    `write_partition` computed."""

    def wrap(fn: Any) -> dg.AssetsDefinition:
        spec = stage(fn.__name__)
        checks = contract_specs(spec.name, reconcile=reconcile) if contract else []

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            return with_data_version(fn(*args, **kwargs))

        return dg.asset(
            partitions_def=project.partitions if spec.partitioned else None,
            group_name=STAGE_GROUP,
            deps=list(deps),
            check_specs=[*checks, *extra_checks],
            kinds=kinds,
            description=spec.description,
            code_version=code_version(spec.name),
            automation_condition=condition_for(spec),
            **asset_args,
        )(run)

    return wrap


def with_data_version(result: Any) -> Any:
    """The result with `DataVersion(<content hash of the written table>)` when it reports one."""
    metadata = getattr(result, "metadata", None) or {}
    if isinstance(result, dg.MaterializeResult) and result.data_version is None and DATA_VERSION in metadata:
        return result._replace(data_version=dg.DataVersion(str(metadata[DATA_VERSION])))
    return result


def column_lineage(asset: str) -> dg.TableColumnLineage | None:
    """The stage's `derived_from` as Dagster column lineage (None when it declares none)."""
    derived = stage(asset).derived_from
    if not derived:
        return None
    return dg.TableColumnLineage(
        deps_by_column={
            column: [dg.TableColumnDep(dg.AssetKey(dep.split(".")[0]), dep.split(".")[1]) for dep in deps]
            for column, deps in derived.items()
        }
    )


def contract_results(
    asset: str,
    table: pa.Table,
    *,
    source: str | None = None,
    year: int | None = None,
    reconciliation: tuple[bool, dict[str, Any]] | None = None,
) -> list[dg.AssetCheckResult]:
    """Results for `contract_specs`: schema, keys, partition membership, reconciliation, GE suite."""
    problems = schema_problems(asset, table.schema)
    results = [
        dg.AssetCheckResult(
            check_name="schema", passed=not problems, metadata={"problems": problems or "none"}
        )
    ]
    keys = stage(asset).keys
    nulls = sum(table.column(k).null_count for k in keys if k in table.column_names)
    distinct = len(table.select(list(keys)).group_by(list(keys)).aggregate([])) if not problems else -1
    results.append(
        dg.AssetCheckResult(
            check_name="unique_keys",
            passed=nulls == 0 and distinct == table.num_rows,
            metadata={"rows": table.num_rows, "distinct_keys": distinct, "null_keys": nulls},
        )
    )
    if source is not None:
        wrong = (
            table.num_rows
            - pc.sum(pc.and_(pc.equal(table["source"], source), pc.equal(table["year"], year))).as_py()
            if table.num_rows
            else 0
        )
        results.append(
            dg.AssetCheckResult(
                check_name="year_matches_partition",
                passed=wrong == 0,
                metadata={"rows_outside_partition": wrong},
            )
        )
    if reconciliation is not None:
        ok, meta = reconciliation
        results.append(dg.AssetCheckResult(check_name="reconciliation", passed=ok, metadata=meta))
    ge_ok, ge_meta = validate_table(asset, table)
    results.append(
        dg.AssetCheckResult(
            check_name="column_expectations",
            passed=ge_ok,
            metadata=ge_meta,
            severity=dg.AssetCheckSeverity.WARN,
        )
    )
    return results


def write_partition(
    context: dg.AssetExecutionContext,
    lake: Lake,
    asset: str,
    table: pa.Table,
    *,
    source: str | None = None,
    year: int | None = None,
    config: Any = None,
) -> dict[str, Any]:
    """Write the asset's Parquet file for this partition (or the global file); returns UI metadata."""
    key = table_key(asset, source, year)
    size = lake.write_table(key, table, file_metadata(context, config, asset))
    lineage = column_lineage(asset)
    return {
        "dagster/row_count": table.num_rows,
        "dagster/uri": lake.uri(key),
        "path": dg.MetadataValue.path(lake.uri(key)),
        "bytes": size,
        DATA_VERSION: content_hash(table),
        **({"dagster/column_lineage": lineage} if lineage else {}),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(f.name, str(f.type)) for f in table.schema]
        ),
        "preview": dg.MetadataValue.md(markdown_preview(table, stage(asset).preview)),
    }


def markdown_preview(table: pa.Table, columns: Sequence[str] | None, rows: int = 5, width: int = 80) -> str:
    """The first rows as a Markdown table (long cells cut), so the UI shows what was written."""
    names = [c for c in (columns or table.column_names[:6]) if c in table.column_names]

    def cell(value: Any) -> str:
        text = "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(cell(r[c]) for c in names) + " |" for r in table.slice(0, rows).to_pylist()]
    return "\n".join(lines)


def counts(values: Iterable[Any]) -> dict[str, int]:
    """Value counts as a JSON-friendly dict (None shown as 'null'), sorted by key."""
    out: dict[str, int] = {}
    for v in values:
        out["null" if v is None else str(v)] = out.get("null" if v is None else str(v), 0) + 1
    return dict(sorted(out.items()))


def read_partition(
    lake: Lake, asset: str, source: str, year: int, columns: Sequence[str] | None = None
) -> pa.Table:
    """A partition's table written by the upstream asset; a clear failure when it was never built."""
    key = table_key(asset, source, year)
    if not lake.has(key):
        raise dg.Failure(f"{asset} has no partition {source}|{year} at {lake.uri(key)}: materialise it first")
    table = lake.read_table(key)
    return table.select(list(columns)) if columns else table


def read_global(lake: Lake, asset: str) -> pa.Table:
    """A global asset's table; a clear failure naming what to materialise when it is missing."""
    key = table_key(asset)
    if not lake.has(key):
        job = job_name(stage(asset).job)
        raise dg.Failure(f"{asset} was never materialised ({lake.uri(key)}): run {job} (or a backfill) first")
    return lake.read_table(key)


def current_clusters(lake: Lake, source: str, year: int) -> pa.Table:
    """image_clusters, refusing to go on when they predate this partition's pool: a stage reading them
    would leave the newly kept images out without a trace (and bill the rest again when rerun)."""
    clusters = read_global(lake, "image_clusters")
    pool = read_partition(lake, "filtered_pool", source, year, ["image_id", "kept"])
    missing = unclustered_images(pool, clusters)
    if missing:
        raise dg.Failure(
            f"image_clusters is older than filtered_pool {source}|{year}: {len(missing)} kept images are "
            f"not clustered (e.g. {missing[:3]}); run {job_name(stage('image_clusters').job)} first",
            metadata={"unclustered_images": len(missing)},
        )
    return clusters


def contact_sheet_metadata(
    lake: Lake, asset: str, source: str, year: int, tiles: Sequence[Tile]
) -> dict[str, Any]:
    """Write the partition's contact sheet to the lake and show it inline (a base64 JPEG in Markdown,
    which the UI renders) next to its lake path."""
    key = contact_sheet_key(asset, source, year)
    jpeg = contact_sheet(tiles)
    lake.write_bytes(key, jpeg)
    inline = base64.b64encode(jpeg).decode()
    return {
        "contact_sheet": dg.MetadataValue.md(
            f"![{asset} source={source} year={year}: {len(tiles)} images](data:image/jpeg;base64,{inline})"
        ),
        "contact_sheet_path": dg.MetadataValue.path(lake.uri(key)),
        "contact_sheet_images": len(tiles),
    }


def funnel_metadata(funnel: Funnel) -> dict[str, Any]:
    """in -> dropped per reason -> kept: a Markdown table plus `funnel/*` numbers (plottable)."""
    return {"funnel": dg.MetadataValue.md(funnel.markdown()), **funnel.metadata()}


LLM_ROWS = (
    ("calls", "calls sent"),
    ("cache_hits", "cache hits"),
    ("retries", "retries"),
    ("failed_requests", "failed requests"),
    ("prompt_tokens", "prompt tokens"),
    ("cached_tokens", "cached prompt tokens"),
    ("completion_tokens", "completion tokens"),
    ("cost_usd", "cost (USD)"),
    ("est_cost_usd", "estimated cost, dry run (USD)"),
)


def llm_metadata(summary: dict[str, Any] | None) -> dict[str, Any]:
    """A model-calling stage's Runner summary: `llm/<key>` numbers and one Markdown table (calls, cache
    hits, tokens, $); a stage that made no calls (judge off) says so."""
    if summary is None:
        return {"llm": dg.MetadataValue.md("no model calls (off for this source)"), "llm/calls": 0}
    rows = "\n".join(f"| {label} | {summary.get(key, 0)} |" for key, label in LLM_ROWS)
    return {
        "llm": dg.MetadataValue.md(f"| | |\n|---|---|\n{rows}"),
        **{f"llm/{k}": v for k, v in summary.items()},
    }
