"""`kind: labeled`: class folders and index files, with hostile files that must become rows, not crashes."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from rs_assets.lib.lake import Lake
from rs_assets.lib.raw_scrape.connectors import fetch_items
from rs_assets.lib.sources import SourcesConfigError, parse_sources
from rs_assets_tests.loopback_site import image_bytes


def _source(path: Path | str, **over: Any) -> Any:
    body = {
        "kind": "labeled",
        "path": str(path),
        "default_year": 2010,
        "sensor": "USGS orthoimagery",
        "gsd_m": 0.3,
        "max_bytes": 4000,
        **over,
    }
    return parse_sources({"sources": {"ucm": body}})["ucm"]


def _fetch(source: Any, tmp_path: Path, year: int = 2010) -> dict[str, Any]:
    items = list(fetch_items("ucm", source, year, Lake(str(tmp_path / "lake"))))
    assert len(items) == len({i.native_id for i in items})
    return {i.native_id: i for i in items}


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    root, outside = tmp_path / "UCMerced", tmp_path / "secret"
    (root / "harbor").mkdir(parents=True)
    (root / "forest").mkdir()
    outside.mkdir()
    (outside / "key.jpg").write_bytes(image_bytes(seed=9))
    (root / "harbor" / "harbor00.tif").write_bytes(image_bytes("TIFF", (16, 16), seed=1))
    (root / "forest" / "forest00.jpg").write_bytes(image_bytes(seed=2))
    (root / "forest" / "notes.txt").write_text("not an image")
    (root / "forest" / "empty.jpg").write_bytes(b"")
    (root / "forest" / "huge.png").write_bytes(image_bytes("PNG", seed=3) + b"\0" * 5000)
    (root / "forest" / ".DS_Store").write_bytes(b"\0\0")
    (root / "forest" / ".thumbs").mkdir()
    (root / "forest" / ".thumbs" / "forest00.jpg").write_bytes(image_bytes(seed=2))
    (root / "forest" / "escape.jpg").symlink_to(outside / "key.jpg")
    (root / "forest" / "inside.jpg").symlink_to(root / "harbor" / "harbor00.tif")
    (root / "forest" / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (root / "linked_dir").symlink_to(outside, target_is_directory=True)
    os.mkfifo(root / "forest" / "pipe.jpg")
    locked = root / "forest" / "locked.jpg"
    locked.write_bytes(image_bytes(seed=4))
    locked.chmod(0)
    return root


def test_class_folders_with_hostile_files(hostile: Path, tmp_path: Path) -> None:
    got = _fetch(_source(hostile), tmp_path)
    expected = {
        "harbor/harbor00.tif": "ok",
        "forest/forest00.jpg": "ok",
        "forest/notes.txt": "bad_content_type",
        "forest/empty.jpg": "bad_content_type",
        "forest/huge.png": "too_large",
        "forest/escape.jpg": "outside_root",
        "forest/inside.jpg": "ok",
        "forest/dangling.jpg": "not_found",
        "linked_dir": "outside_root",
        "forest/pipe.jpg": "not_found",
        "forest/locked.jpg": "ok" if os.geteuid() == 0 else "not_found",  # root reads mode-000 files
    }
    assert {k: v.status for k, v in got.items()} == expected
    harbor = got["harbor/harbor00.tif"]
    assert (
        harbor.labels == ["harbor"]
        and harbor.year == 2010
        and harbor.content == image_bytes("TIFF", (16, 16), seed=1)
    )
    assert (
        harbor.sensor == "USGS orthoimagery" and harbor.gsd_m == 0.3 and harbor.url == "harbor/harbor00.tif"
    )
    assert got["forest/escape.jpg"].content is None and "outside" in got["forest/escape.jpg"].error
    assert got["forest/huge.png"].content is None and "max_bytes" in got["forest/huge.png"].error
    assert _fetch(_source(hostile), tmp_path, year=2011) == {}


def test_index_with_multilabels_dates_boxes(hostile: Path, tmp_path: Path) -> None:
    (hostile / "index.csv").write_text(
        "path,labels,date,lat,lon,gsd_m,boxes,tile\n"
        'harbor/harbor00.tif,"harbor;water",2012-05-01,36.1,-5.3,,'
        '"[{""cls"": ""ship"", ""bbox"": [1, 2, 30, 40]}]",7\n'
        'forest/forest00.jpg,"[""forest"", ""road""]",,,,10,not json,8\n'
        "../secret/key.jpg,x,,,,,,9\n"
        "forest/absent.jpg,x,,,,,,10\n"
    )
    got = _fetch(_source(hostile, index="index.csv"), tmp_path)
    assert {k: v.status for k, v in got.items()} == {
        "forest/forest00.jpg": "ok",
        "../secret/key.jpg": "outside_root",
        "forest/absent.jpg": "not_found",
    }
    forest = got["forest/forest00.jpg"]
    assert forest.labels == ["forest", "road"] and forest.gsd_m == 10 and forest.objects == []
    assert forest.extra["tile"] == "8" and "boxes_error" in forest.extra  # CSV cells are text
    harbor = _fetch(_source(hostile, index="index.csv"), tmp_path, year=2012)["harbor/harbor00.tif"]
    assert harbor.labels == ["harbor", "water"] and (harbor.lat, harbor.lon) == (36.1, -5.3)
    assert harbor.objects == [{"cls": "ship", "bbox": [1.0, 2.0, 30.0, 40.0]}] and harbor.gsd_m == 0.3


def test_malformed_labels_keep_the_image(hostile: Path, tmp_path: Path) -> None:
    """A bad labels cell costs the labels, never the run or the image."""
    (hostile / "index.csv").write_text(
        'path,labels\nharbor/harbor00.tif,"[a,b"\nforest/forest00.jpg,7\nforest/inside.jpg,\n'
    )
    got = _fetch(_source(hostile, index="index.csv"), tmp_path)
    harbor, forest, inside = got["harbor/harbor00.tif"], got["forest/forest00.jpg"], got["forest/inside.jpg"]
    assert harbor.status == "ok" and harbor.content and harbor.labels == []
    assert harbor.extra["labels_error"].startswith("JSONDecodeError")
    assert forest.labels == ["7"] and inside.labels == [] and "labels_error" not in forest.extra
    (hostile / "index.jsonl").write_text(
        '{"path": "harbor/harbor00.tif", "labels": 3}\n{"path": "forest/forest00.jpg", "labels": {"a": 1}}\n'
    )
    got = _fetch(_source(hostile, index="index.jsonl"), tmp_path)
    assert got["harbor/harbor00.tif"].labels == ["3"]
    forest = got["forest/forest00.jpg"]
    assert forest.status == "ok" and forest.labels == [] and "dict" in forest.extra["labels_error"]


@pytest.mark.parametrize("extra", [{}, {"index": "index.csv"}])
def test_labeled_needs_a_default_year(extra: dict[str, str]) -> None:
    """Undated files are never lost: their year is the source's default_year, which is required."""
    with pytest.raises(SourcesConfigError, match=r"field 'default_year': .*set default_year"):
        parse_sources({"sources": {"ucm": {"kind": "labeled", "path": "/d", **extra}}})


def test_s3_class_folders(s3_env: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="aid-set")
    s3.put_object(Bucket="aid-set", Key="AID/airport/a1.jpg", Body=image_bytes(seed=1))
    for hidden in ("AID/.git/x.jpg", "AID/airport/.thumbs/a1.jpg", "AID/airport/.a1.jpg"):  # as locally
        s3.put_object(Bucket="aid-set", Key=hidden, Body=image_bytes(seed=1))
    s3.put_object(Bucket="aid-set", Key="AID/beach/b1.txt", Body=b"hello")
    s3.put_object(Bucket="aid-set", Key="AID/beach/big.png", Body=image_bytes("PNG", seed=2) + b"\0" * 5000)
    got = _fetch(_source("s3://aid-set/AID"), tmp_path)
    assert {k: (v.status, v.labels) for k, v in got.items()} == {
        "airport/a1.jpg": ("ok", ["airport"]),
        "beach/b1.txt": ("bad_content_type", ["beach"]),
        "beach/big.png": ("too_large", ["beach"]),
    }
    assert got["airport/a1.jpg"].content == image_bytes(seed=1)


def test_index_paths_that_are_no_files_are_rows(hostile: Path, tmp_path: Path) -> None:
    """A NUL byte crashed the partition (ValueError from the OS layer); `..` to a missing file was
    `not_found`, which told an attacker whether a path outside the root exists."""
    (hostile / "index.csv").write_text(
        "path,labels\n"
        "forest/fore\0st00.jpg,x\n"
        "../secret/absent.jpg,x\n"
        "../secret/key.jpg,x\n"
        "forest/../../secret/key.jpg,x\n"
        f"{tmp_path}/secret/key.jpg,x\n"
        "harbor/../forest/forest00.jpg,x\n"
    )
    got = _fetch(_source(hostile, index="index.csv"), tmp_path)
    assert {k: v.status for k, v in got.items()} == {
        "forest/fore\0st00.jpg": "invalid_path",
        "../secret/absent.jpg": "outside_root",
        "../secret/key.jpg": "outside_root",
        "forest/../../secret/key.jpg": "outside_root",
        f"{tmp_path}/secret/key.jpg": "outside_root",
        "harbor/../forest/forest00.jpg": "ok",
    }
    assert got["forest/fore\0st00.jpg"].error == "path contains a NUL byte"
    assert all(v.content is None for k, v in got.items() if v.status != "ok")
    (hostile / "index.jsonl").write_text(
        '{"path": "harbor/harbor00.tif", "labels": "harbor"}\n{"path": "forest/\\u0000.jpg"}\n{oops\n'
    )
    got = _fetch(_source(hostile, index="index.jsonl"), tmp_path)
    assert sorted(v.status for v in got.values()) == ["invalid_path", "invalid_row", "ok"]
    (bad,) = (v for v in got.values() if v.status == "invalid_row")
    assert bad.error.startswith(f"{hostile / 'index.jsonl'}:3: not JSON")


def test_s3_index_paths_climbing_out(s3_env: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="ucm-set")
    for key in ("UCM/harbor/h1.jpg", "UCM/..h2.jpg", "secret/key.jpg"):
        s3.put_object(Bucket="ucm-set", Key=key, Body=image_bytes(seed=1))
    s3.put_object(
        Bucket="ucm-set",
        Key="UCM/index.csv",
        Body=b"path,labels\nharbor/h1.jpg,a\n..h2.jpg,b\n../secret/key.jpg,c\nharbor/\0.jpg,d\n",
    )
    got = _fetch(_source("s3://ucm-set/UCM", index="index.csv"), tmp_path)
    assert {k: v.status for k, v in got.items()} == {
        "harbor/h1.jpg": "ok",
        "..h2.jpg": "ok",  # a name starting with two dots climbs nowhere
        "../secret/key.jpg": "outside_root",
        "harbor/\0.jpg": "invalid_path",
    }


@pytest.mark.parametrize("body", [b"", b"path,labels\n"])
def test_an_empty_index_is_a_clear_error(hostile: Path, tmp_path: Path, body: bytes) -> None:
    (hostile / "index.csv").write_bytes(body)
    with pytest.raises(ValueError, match=re.escape(f"{hostile / 'index.csv'}: no rows")):
        _fetch(_source(hostile, index="index.csv"), tmp_path)
