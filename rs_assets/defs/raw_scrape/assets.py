"""raw_scrape: one row per attempted item of a source x year, image bytes content-addressed. A web
partition keeps the records of earlier runs its feed no longer lists (`merge_rows`)."""

from typing import Any

import dagster as dg

from rs_assets.defs.project import Project, load_project
from rs_assets.defs.resources import ExecutorResource, LakeResource
from rs_assets.defs.stage import (
    contract_results,
    counts,
    funnel_metadata,
    read_partition,
    stage_asset,
    write_partition,
)
from rs_assets.lib.funnel import funnel
from rs_assets.lib.lake import Lake, table_key
from rs_assets.lib.raw_scrape.connectors import fetch_items
from rs_assets.lib.raw_scrape.rows import ACCUMULATING_KINDS, merge_rows, to_row
from rs_assets.lib.raw_scrape.sharded import SHARDED_KINDS, Scraped, drop_shards, scrape_sharded
from rs_assets.lib.stages import from_rows


def scrape_local(source: str, cfg: Any, year: int, store: Lake) -> Scraped:
    """This run's rows in this process: the connector's items stored as they come."""
    rows, new_images, bytes_in = [], 0, 0
    for item in fetch_items(source, cfg, year, store):
        row, content = to_row(source, item)
        rows.append(row)
        if content is not None:
            new_images += store.put_image(row["image_id"], row["image_ext"], content)
            bytes_in += len(content)
    return Scraped(rows, new_images, bytes_in, {})


def build(project: Project) -> dg.AssetsDefinition:
    @stage_asset(project, reconcile=False, kinds={"parquet", "python"})
    def raw_scrape(
        context: dg.AssetExecutionContext, lake: LakeResource, executor: ExecutorResource
    ) -> dg.MaterializeResult:
        source, year, cfg = project.partition(context)
        store = lake.lake()
        engine = executor.checked()
        sharded = engine.kind == "ray" and cfg.kind in SHARDED_KINDS
        run = (
            scrape_sharded(source, cfg, year, store, engine.shard_size)
            if sharded
            else scrape_local(source, cfg, year, store)
        )
        rows, fetched = run.rows, len(run.rows)
        if cfg.kind in ACCUMULATING_KINDS and store.has(table_key("raw_scrape", source, year)):
            rows = merge_rows(read_partition(store, "raw_scrape", source, year).to_pylist(), rows)
        table = from_rows("raw_scrape", rows).sort_by("record_id")  # connectors yield in completion order
        metadata = write_partition(context, store, "raw_scrape", table, source=source, year=year, config=cfg)
        if sharded:
            drop_shards(store, source, year)  # written: the next materialisation asks the origins again
        status = counts(table["status"].to_pylist())
        context.log.info(
            f"raw_scrape {source}|{year}: {table.num_rows} rows ({fetched} from this run), status {status}"
        )
        return dg.MaterializeResult(
            metadata={
                **metadata,
                "status_counts": status,
                **funnel_metadata(funnel("items", table["status"].to_pylist(), kept="ok")),
                "rows_this_run": fetched,
                "new_images": run.new_images,
                "image_bytes": run.image_bytes,
                "executor": "ray" if sharded else "local",
                **{f"executor/{k}": v for k, v in run.stats.items()},
            },
            check_results=contract_results("raw_scrape", table, source=source, year=year),
        )

    return raw_scrape


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build(load_project())])
