"""The lake's one API over a folder and S3 (moto server on loopback)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import boto3
import pyarrow as pa
import pytest

from rs_assets.lib.lake import Lake, UnreadableTable, image_key, table_key


def _roundtrip(lake: Lake) -> None:
    table = pa.table({"a": [1, 2, 3]})
    key = table_key("raw_scrape", "src", 2020)
    lake.write_table(key, table, {"rs_assets.run_id": "r1"})
    assert lake.read_table(key).equals(table.replace_schema_metadata(lake.read_table(key).schema.metadata))
    assert lake.read_table(key).schema.metadata[b"rs_assets.run_id"] == b"r1"
    assert lake.table_keys("raw_scrape") == [key]
    assert lake.put_image("ab" * 32, "jpg", b"bytes") is True
    assert lake.put_image("ab" * 32, "jpg", b"bytes") is False  # stored once
    assert lake.get_image("ab" * 32, "jpg") == b"bytes"
    assert lake.has(image_key("ab" * 32, "jpg"))
    assert lake.read_all("missing_asset") is None


def test_local_lake_roundtrip_and_no_temp_files_left(tmp_path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    _roundtrip(lake)
    leftovers = [p for p in (tmp_path / "lake").rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_failed_local_write_leaves_previous_file_intact(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = Lake(str(tmp_path))
    lake.write_bytes("x/y.bin", b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        lake.write_bytes("x/y.bin", b"new")
    monkeypatch.undo()
    assert lake.read_bytes("x/y.bin") == b"old"
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["y.bin"]


def test_s3_lake_roundtrip(s3_env: str) -> None:
    boto3.client("s3").create_bucket(Bucket="lake-unit")
    lake = Lake("s3://lake-unit/some/prefix")
    assert lake.is_s3
    _roundtrip(lake)
    assert lake.uri("tables/x") == "s3://lake-unit/some/prefix/tables/x"


def _truncate_and_read(lake: Lake) -> None:
    """pyarrow's "Parquet magic bytes not found in footer" named no file: which partition is broken?"""
    key = table_key("raw_scrape", "src", 2020)
    lake.write_table(key, pa.table({"a": list(range(100))}), {})
    lake.write_bytes(key, lake.read_bytes(key)[:-30])
    with pytest.raises(UnreadableTable, match=re.escape(f"{lake.uri(key)}: unreadable Parquet")):
        lake.read_table(key)
    with pytest.raises(UnreadableTable, match=re.escape(f"{lake.uri(key)}: unreadable Parquet")):
        lake.read_all("raw_scrape", columns=["a"])


def test_a_corrupt_table_file_is_named(tmp_path) -> None:
    _truncate_and_read(Lake(str(tmp_path / "lake")))


def test_a_corrupt_s3_table_file_is_named(s3_env: str) -> None:
    boto3.client("s3").create_bucket(Bucket="lake-corrupt")
    _truncate_and_read(Lake("s3://lake-corrupt/p"))


def test_a_corrupt_upstream_partition_fails_the_downstream_asset_naming_it(rs_home) -> None:
    import dagster as dg

    from rs_assets.definitions import defs

    lake = Lake(str(rs_home / "lake"))
    key = table_key("raw_scrape", "tiny_synthetic", 2020)
    lake.write_table(key, pa.table({"record_id": ["r1", "r2"]}), {})
    lake.write_bytes(key, lake.read_bytes(key)[:-30])  # damaged after it was written (disk, copy)
    with dg.instance_for_test() as instance:
        pool = (
            defs()
            .resolve_job_def("pool_job")
            .execute_in_process(
                partition_key="tiny_synthetic|2020",
                instance=instance,
                asset_selection=[dg.AssetKey("filtered_pool")],
                raise_on_error=False,
            )
        )
    assert not pool.success
    (failure,) = pool.get_step_failure_events()
    cause = failure.step_failure_data.error.cause
    assert cause.cls_name == "UnreadableTable" and f"{lake.uri(key)}: unreadable Parquet" in cause.message


def test_link_prefix_swaps_a_symlink_and_keeps_an_old_folder(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    lake.write_bytes("release/latest/README.md", b"old unversioned release")
    for version in ("v0001", "v0002"):
        lake.write_bytes(f"release/{version}/README.md", version.encode())
        lake.link_prefix("release/latest", f"release/{version}")
        assert (tmp_path / "lake" / "release" / "latest" / "README.md").read_bytes() == version.encode()
    assert (tmp_path / "lake" / "release" / "latest").is_symlink()
    assert lake.read_bytes("release/latest.unversioned/README.md") == b"old unversioned release"


def test_reading_tables_starts_no_arrow_threads(tmp_path: Path) -> None:
    """A worker of Arrow's async Parquet reader releasing a Python buffer while the interpreter exits
    aborts the process now and then (exit 134 after a finished run): the lake and the Parquet source
    reader start no Arrow threads at all (counted in a fresh process)."""
    script = f"""
import os, pyarrow as pa, pyarrow.parquet as pq
from rs_assets.lib.lake import Lake, table_key
from rs_assets.lib.raw_scrape.connectors.files import _parquet_rows
lake = Lake({str(tmp_path / "lake")!r})
table = pa.table({{"a": list(range(50_000)), "b": [str(i) for i in range(50_000)]}})
lake.write_table(table_key("raw_scrape", "src", 2020), table, {{}})
pq.write_table(table, {str(tmp_path / "rows.parquet")!r})
before = len(os.listdir("/proc/self/task"))
for _ in range(5):
    assert lake.read_all("raw_scrape", ["b"]).num_rows == 50_000
    with open({str(tmp_path / "rows.parquet")!r}, "rb") as fh:
        assert sum(1 for _ in _parquet_rows(fh, "rows.parquet")) == 50_000
ours = len(os.listdir("/proc/self/task"))
pq.read_table(pa.BufferReader(lake.read_bytes(lake.table_keys("raw_scrape")[0])))  # Arrow's default
print(before, ours, len(os.listdir("/proc/self/task")))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    before, ours, default = map(int, out.stdout.split())
    assert ours == before
    assert default > before  # the count does see Arrow's pools


def test_a_missing_column_is_an_error_naming_file_and_column(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    key = table_key("raw_scrape", "src", 2020)
    lake.write_table(key, pa.table({"a": [1]}), {})
    assert lake.read_table(key, ["a"]).column_names == ["a"]
    with pytest.raises(UnreadableTable, match=r"source=src/year=2020.*'nope'"):
        lake.read_table(key, ["a", "nope"])
