"""The same chain with the lake on S3 (moto's server on 127.0.0.1), then DuckDB views reading it."""

from __future__ import annotations

import boto3
import dagster as dg
import pytest

from rs_assets.lib.lake import Lake
from rs_assets.lib.warehouse.catalog import connect
from rs_assets_tests.pipeline import failed_checks, run_partitions


def test_chain_on_s3_and_views_read_it(s3_env: str, rs_home, monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="rs-lake")
    monkeypatch.setenv("RS_ASSETS_LAKE", "s3://rs-lake/prod")
    with dg.instance_for_test() as instance:
        results = run_partitions(instance, ["tiny_synthetic|2020"])
    assert failed_checks(results) == []
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="rs-lake", Prefix="prod/")["Contents"]]
    assert "prod/tables/raw_scrape/source=tiny_synthetic/year=2020/part-0.parquet" in keys
    assert any(k.startswith("prod/images/") for k in keys) and any(k.startswith("prod/thumbs/") for k in keys)
    assert not (rs_home / "lake").exists()  # nothing leaked to the local default
    conn = connect(rs_home / "catalog.duckdb", Lake("s3://rs-lake/prod"))
    assert conn.execute("SELECT count(*) FROM raw_scrape").fetchone() == (6,)
    assert conn.execute("SELECT count(*) FROM captions WHERE status = 'ok'").fetchone()[0] > 0
    assert conn.execute("SELECT count(*) FROM lineage").fetchone()[0] > 0
