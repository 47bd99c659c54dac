"""Legacy text annotations (`karpathy`, `captions_csv`, `rsvqa`) read as the datasets ship them, with
their bad entries as rows, through fetch_items, a real Dagster materialize and the instruction tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rs_assets.lib.lake import Lake
from rs_assets.lib.raw_scrape.connectors import fetch_items
from rs_assets.lib.raw_scrape.rows import to_row
from rs_assets.lib.records import RawItem
from rs_assets.lib.sources import parse_sources
from rs_assets_tests.loopback_site import image_bytes


def _source(**body: Any) -> Any:
    return parse_sources({"sources": {"legacy": {"kind": "labeled", "default_year": 2017, **body}}})["legacy"]


def _fetch(source: Any, tmp_path: Path, year: int = 2017) -> dict[str, RawItem]:
    items = list(fetch_items("legacy", source, year, Lake(str(tmp_path / "lake"))))
    assert len(items) == len({i.native_id for i in items})
    return {i.native_id: i for i in items}


def test_index_cells_of_ref_captions_and_ref_qa_are_parsed(tmp_path: Path) -> None:
    """A CSV cell is text: one caption (or a JSON list of them) and a JSON list of QA, never a list of
    characters; a malformed QA cell costs the QA, not the image or the partition."""
    (tmp_path / "a.jpg").write_bytes(image_bytes(seed=1))
    (tmp_path / "b.jpg").write_bytes(image_bytes(seed=2))
    (tmp_path / "index.csv").write_text(
        "path,ref_captions,ref_qa\n"
        'a.jpg,a harbour with ships,"[{""question"": ""Is there water?"", ""answer"": ""yes""}]"\n'
        'b.jpg,"[""two roads"", ""a crossing""]",not json\n'
    )
    got = _fetch(_source(path=str(tmp_path), index="index.csv"), tmp_path)
    a, b = got["a.jpg"], got["b.jpg"]
    assert a.ref_captions == ["a harbour with ships"]
    water = {"question": "Is there water?", "answer": "yes", "type": None}
    assert to_row("legacy", a)[0]["ref_qa"] == [water]
    assert b.status == "ok" and b.ref_captions == ["two roads", "a crossing"] and b.ref_qa == []
    assert b.extra["ref_qa_error"].startswith("JSONDecodeError")
