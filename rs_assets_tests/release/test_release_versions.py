"""Releases are immutable versions with a diff to the previous one; `latest` points at the newest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from rs_assets.lib.lake import Lake, table_key
from rs_assets.lib.release.versions import ReleaseVersionError, read_index
from rs_assets.lib.release.writer import ReleaseOptions, write_release
from rs_assets.lib.warehouse.catalog import build_catalog, connect

pytestmark = pytest.mark.xdist_group("published")  # copies the session's `published` lake


@pytest.fixture
def lake(published: dict, tmp_path: Path) -> Lake:
    """The published lake's tables and images (no release yet), in a folder of the test's own."""
    src = Path(published["lake"].root)
    for folder in ("tables", "images"):
        shutil.copytree(src / folder, tmp_path / "lake" / folder)
    shutil.rmtree(tmp_path / "lake" / "tables" / "release")
    return Lake(str(tmp_path / "lake"))


def _edit_captions(lake: Lake, change: str, drop: str) -> None:
    key = table_key("captions", "demo_synthetic", 2020)
    table = lake.read_table(key)
    table = table.filter(pc.not_equal(table["caption_id"], drop))
    pairs = zip(table["caption_id"].to_pylist(), table["text"].to_pylist(), strict=True)
    texts = [t + " (edited)" if c == change else t for c, t in pairs]
    table = table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts, pa.string()))
    lake.write_table(key, table, {"rs_assets.run_id": "edited"})


def test_versions_are_immutable_with_a_diff_and_latest_points_at_the_newest(
    lake: Lake, tmp_path: Path
) -> None:
    root = Path(lake.root) / "release"
    first = write_release(lake)
    assert set(first["version"].to_pylist()) == {"v0001"}
    assert (root / "latest").resolve() == (root / "v0001").resolve()
    assert pq.read_table(root / "v0001" / "diff.parquet")["change"].unique().to_pylist() == ["added"]
    card_v1 = (root / "v0001" / "README.md").read_bytes()

    write_release(lake)  # nothing changed: the same version, no new one
    assert [v["version"] for v in read_index(lake)] == ["v0001"]

    captions = pq.read_table(root / "v0001" / "hf" / "train.parquet")["sample_id"].to_pylist()
    changed, dropped = captions[0], captions[1]
    _edit_captions(lake, changed, dropped)
    write_release(lake)
    assert [v["version"] for v in read_index(lake)] == ["v0001", "v0002"]
    assert (root / "latest").resolve() == (root / "v0002").resolve()
    assert (root / "v0001" / "README.md").read_bytes() == card_v1  # the old version is untouched
    diff = {r["sample_id"]: r for r in pq.read_table(root / "v0002" / "diff.parquet").to_pylist()}
    assert diff[changed]["change"] == "changed" and diff[dropped]["change"] == "removed"
    assert {r["previous_version"] for r in diff.values()} == {"v0001"}
    card = (root / "v0002" / "README.md").read_text()
    assert "## Changes since `v0001`" in card and "| changed | caption | 1 |" in card
    assert "| `demo_synthetic` | 2020 | removed |" in card

    with pytest.raises(ReleaseVersionError, match=r"'v0001'.*immutable"):
        write_release(lake, "v0001")
    with pytest.raises(ReleaseVersionError, match="alias"):
        write_release(lake, "latest")

    catalog = tmp_path / "catalog.duckdb"
    build_catalog(lake, catalog)
    conn = connect(catalog, lake)
    assert conn.execute(
        "SELECT change, count(*) FROM release_diff WHERE version = 'v0002' AND sample_kind = 'caption' "
        "GROUP BY change ORDER BY change"
    ).fetchall() == [("changed", 1), ("removed", 1)]
    assert conn.execute("SELECT DISTINCT version FROM release_samples ORDER BY 1").fetchall() == [
        ("v0001",),
        ("v0002",),
    ]


def test_images_only_inside_the_tars_when_configured(lake: Lake) -> None:
    manifest = write_release(lake, "tars_only", ReleaseOptions(images="tars"), {"demo_synthetic": None})
    formats = set(manifest["format"].to_pylist())
    assert "image" not in formats and "llava" not in formats and "webdataset" in formats
    assert not (Path(lake.root) / "release" / "tars_only" / "images").exists()
    card = lake.read_bytes("release/tars_only/README.md").decode()
    assert "only inside the WebDataset tars" in card and "license: other" in card
