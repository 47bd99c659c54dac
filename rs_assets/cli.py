"""`rs-assets`: run the demo into the Dagster instance, run SQL against the catalog."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from rs_assets.lib import settings
from rs_assets.lib.partitions import key_for
from rs_assets.lib.sources import load_sources
from rs_assets.lib.stages import table_stages


def demo_partitions() -> list[str]:
    """Every partition the configured synthetic sources define (the demo needs no network)."""
    return [
        key_for(name, year)
        for name, src in load_sources(settings.sources_path()).items()
        if src.kind == "synthetic"
        for year in sorted(src.years)
    ]


def run_demo() -> int:
    """Materialise every demo partition in backfill order (pool, clusters once, the per-partition stages,
    release + warehouse) into $DAGSTER_HOME's instance."""
    import dagster as dg

    from rs_assets.definitions import defs as load_defs
    from rs_assets.defs.jobs import in_backfill_order
    from rs_assets.lib.stages import job_name
    from rs_assets.lib.warehouse.catalog import connect

    if not os.environ.get("DAGSTER_HOME"):
        print("DAGSTER_HOME is not set; `make demo` sets it to <repo>/.dagster_home", file=sys.stderr)
        return 2
    defs = load_defs()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # the UI keeps every event
    started = time.monotonic()
    with dg.DagsterInstance.get() as instance:
        runs = in_backfill_order(defs, instance, demo_partitions(), raise_on_error=False, run_config=quiet)
        for job, key, result in runs:
            print(f"{job_name(job)} {key or '(all partitions)'}: {'ok' if result.success else 'FAILED'}")
            if not result.success:
                return 1
    conn = connect()
    print(f"\nDone in {time.monotonic() - started:.1f}s. Rows per asset (catalog {settings.catalog_path()}):")
    for view in (s.name for s in table_stages()):
        print(f"  {view:18s} {conn.execute(f'SELECT count(*) FROM {view}').fetchone()[0]:>7}")
    conn.close()
    print(f"""
Next:
  make ui                                   # Dagster UI on http://127.0.0.1:3000 (runs, checks, metadata)
  .venv/bin/rs-assets sql sql/queries/drop_reason_funnel.sql
  .venv/bin/duckdb -readonly {settings.catalog_path()} -c "FROM lineage LIMIT 3"
  ls {settings.lake_root()}/release/latest  # LLaVA, open_clip, HF Parquet, WebDataset, Karpathy, card
  open {settings.lake_root()}/release/latest/report.html  # the dataset report (offline HTML)""")
    return 0


def run_sql(path: str) -> int:
    from rs_assets.lib.warehouse.catalog import connect

    sql = Path(path).read_text(encoding="utf-8") if Path(path).is_file() else path
    conn = connect()
    try:
        conn.sql(sql).show(max_rows=200, max_width=200)
    finally:
        conn.close()
    return 0


def run_estimate(key: str) -> int:
    """Dry run of the captions stage for one partition on the OpenAI backend: tokens and $, no calls."""
    from dataclasses import replace

    from rs_assets.lib.captions.engine import caption_partition
    from rs_assets.lib.lake import Lake, table_key
    from rs_assets.lib.llm.settings import LLMSettings
    from rs_assets.lib.partitions import parse_key
    from rs_assets.lib.selection import canonical_records

    source, year = parse_key(key)
    sources = load_sources(settings.sources_path())
    if source not in sources:
        print(f"source {source!r} is not in {settings.sources_path()}", file=sys.stderr)
        return 2
    lake = Lake(settings.lake_root())
    needed = [table_key("raw_scrape", source, year), table_key("image_clusters")]
    if not all(lake.has(k) for k in needed):
        print(f"materialise raw_scrape, filtered_pool and image_clusters for {key} first", file=sys.stderr)
        return 2
    records = canonical_records(lake.read_table(needed[0]), lake.read_table(needed[1]))
    os.environ.setdefault("RS_ASSETS_LLM", "openai")  # estimate what the paid backend would cost
    llm = replace(LLMSettings.from_env(), dry_run=True)
    result = caption_partition(records.to_pylist(), list(sources[source].captions), lake, llm)
    print(
        f"{key}: {records.num_rows} canonical images, strategies {list(sources[source].captions)}, "
        f"models {llm.vision_model} / {llm.text_model}"
    )
    for name, value in sorted(result.stats.items()):
        print(f"  {name:24s} {value}")
    return 0


def run_rate(source: str, year: int, rater: str, port: int) -> int:
    """Serve the rating page for one partition on 127.0.0.1 until interrupted."""
    from rs_assets.lib.caption_scores.rating_server import RatingServer
    from rs_assets.lib.caption_scores.ratings import RatingError
    from rs_assets.lib.lake import Lake

    try:
        server = RatingServer(Lake(settings.lake_root()), source, year, rater, port)
    except RatingError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"Rating {source}|{year} as {server.session.rater}: open {server.url}  (Ctrl-C to stop)")
    print(f"Ratings go to {server.lake.uri(server.session.key)}; query them in the caption_ratings view.")
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print(f"{len(server.session.rows)} ratings saved.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rs-assets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="materialise the demo partitions, release and warehouse")
    sql = sub.add_parser("sql", help="run a SQL file (or a query string) against catalog.duckdb")
    sql.add_argument("query")
    estimate = sub.add_parser("estimate", help="dry-run the captions of a partition: expected tokens and $")
    estimate.add_argument("partition", help="'<source>|<year>', e.g. 'demo_synthetic|2020'")
    rate = sub.add_parser("rate", help="rate one partition's captions in the browser (RS5M rubric)")
    rate.add_argument("--source", required=True)
    rate.add_argument("--year", required=True, type=int)
    rate.add_argument("--rater", default=os.environ.get("USER") or "anonymous", help="your name or id")
    rate.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free port)")
    args = parser.parse_args(argv)
    if args.command == "rate":
        return run_rate(args.source, args.year, args.rater, args.port)
    if args.command == "demo":
        return run_demo()
    if args.command == "estimate":
        return run_estimate(args.partition)
    return run_sql(args.query)


if __name__ == "__main__":
    sys.exit(main())
