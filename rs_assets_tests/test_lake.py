"""The lake's one API over a folder and S3 (moto server on loopback)."""

from __future__ import annotations

import boto3
import pyarrow as pa
import pytest

from rs_assets.lib.lake import Lake, image_key, table_key


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
