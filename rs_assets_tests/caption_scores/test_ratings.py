"""The human rating page in real headless Chromium, driven with the keyboard: ratings land in the lake as
one file per session and are queryable in the DuckDB catalog; several raters at once lose nothing."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from rs_assets.lib.caption_scores.rating_server import RatingServer
from rs_assets.lib.caption_scores.ratings import RUBRIC
from rs_assets.lib.lake import Lake, table_key
from rs_assets.lib.stages import from_rows
from rs_assets.lib.warehouse.catalog import build_catalog, connect
from rs_assets_tests.captions.test_captions_local import caption_records
from rs_assets_tests.cdp import Chromium

TEXTS = [
    "The image showcases: farmland along a river with a building and a ship.",
    "The image showcases: a ship near cropland.",
    "Farmland near Paris, France, in January.",
]


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """A captioned partition demo|2020: one image, its thumbnail, raw record and three captions."""
    lake = Lake(str(tmp_path / "lake"))
    rec = caption_records(lake, 1)[0]
    lake.write_table(table_key("raw_scrape", "demo", 2020), from_rows("raw_scrape", [rec]), {})
    caps = [
        {
            "caption_id": f"cap-{i}",
            "image_id": rec["image_id"],
            "record_id": rec["record_id"],
            "source": "demo",
            "year": 2020,
            "strategy": "gaia" if i < 2 else "meta",
            "text": text,
            "status": "ok",
            "caption_index": i,
        }
        for i, text in enumerate(TEXTS)
    ]
    lake.write_table(table_key("captions", "demo", 2020), from_rows("captions", caps), {})
    return lake


def post(url: str, body: Any, kind: str = "application/json") -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url + "api/rate", data=json.dumps(body).encode(), headers={"Content-Type": kind}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_rate_two_captions_with_the_keyboard_in_chromium(
    lake: Lake, browser: Chromium, tmp_path: Path
) -> None:
    alice = RatingServer(lake, "demo", 2020, "alice").start()
    bob = RatingServer(lake, "demo", 2020, "bob").start()  # a second rater at the same time
    try:
        browser.open(alice.url)
        browser.wait_for("document.body.dataset.ready", "1")
        assert browser.evaluate("document.querySelectorAll('.caption').length") == 3
        # the thumbnail from the lake decodes (it may load after the page says ready: wait, don't race)
        browser.wait_for("(t => t.complete && t.naturalWidth > 0)(document.getElementById('thumb'))", True)
        for key in "453":
            browser.press(key)
        browser.press("n")
        browser.type_text("crisp detail, river well placed")
        browser.press("Escape")
        browser.press("Enter")
        browser.wait_for("document.body.dataset.saved", "1")
        assert browser.evaluate("document.body.dataset.current") == "cap-1"  # moved on to the next caption
        assert (
            post(bob.url, {"caption_id": "cap-0", "relevance": 2, "hallucination": 2, "fluency": 2})[0] == 200
        )
        for key in "214":
            browser.press(key)
        browser.press("Enter")
        browser.wait_for("document.body.dataset.saved", "2")
        # bad input is a clear 400 naming the field, never a stored row
        status, answer = post(
            alice.url, {"caption_id": "cap-2", "relevance": 9, "hallucination": 1, "fluency": 1}
        )
        assert status == 400 and "relevance" in answer["error"]
        assert post(alice.url, {"caption_id": "nope"})[1]["error"].startswith("caption_id")
        assert post(alice.url, {"caption_id": "cap-2"}, kind="text/plain")[0] == 415
    finally:
        alice.stop()
        bob.stop()
    assert len(lake.table_keys("caption_ratings")) == 2  # one file per session
    catalog = tmp_path / "catalog.duckdb"
    build_catalog(lake, catalog)
    conn = connect(catalog, lake)
    try:
        rows = conn.sql(
            "SELECT rater, caption_id, relevance, hallucination, fluency, note, rated_at IS NOT NULL "
            "FROM caption_ratings ORDER BY rater, caption_id"
        ).fetchall()
    finally:
        conn.close()
    assert rows == [
        ("alice", "cap-0", 4, 5, 3, "crisp detail, river well placed", True),
        ("alice", "cap-1", 2, 1, 4, None, True),
        ("bob", "cap-0", 2, 2, 2, None, True),
    ]


def test_catalog_has_an_empty_ratings_view_before_anyone_rates(lake: Lake, tmp_path: Path) -> None:
    build_catalog(lake, tmp_path / "catalog.duckdb")
    conn = connect(tmp_path / "catalog.duckdb", lake)
    try:
        assert conn.sql("SELECT count(*) FROM caption_ratings_latest").fetchone() == (0,)
        assert "hallucination" in [c[0] for c in conn.sql("DESCRIBE caption_ratings").fetchall()]
    finally:
        conn.close()


def calibration(lake: Lake, tmp_path: Path, ratings: list[int]) -> tuple[bool, dict[str, Any], list[Any]]:
    """Score the partition's captions, have a rater give caption i the rating ratings[i] on every
    rubric, rebuild the catalog and run the calibration check on its view."""
    from rs_assets.lib.caption_scores.calibration import calibration_check
    from rs_assets.lib.caption_scores.ratings import RatingSession
    from rs_assets.lib.caption_scores.score import score_partition
    from rs_assets.lib.llm.settings import LLMSettings
    from rs_assets.lib.sources import parse_sources

    raw = lake.read_table(table_key("raw_scrape", "demo", 2020)).to_pylist()
    caps = lake.read_table(table_key("captions", "demo", 2020)).to_pylist()
    src = parse_sources({"sources": {"demo": {"kind": "synthetic", "years": [2020], "per_year": 1}}})["demo"]
    scores = score_partition(raw, caps, src, lake, LLMSettings()).table
    lake.write_table(table_key("caption_scores", "demo", 2020), scores, {})
    session = RatingSession(lake, "demo", 2020, "carol")
    for cap, rating in zip(caps, ratings, strict=True):
        session.add({"caption_id": cap["caption_id"], "note": None, **dict.fromkeys(RUBRIC, rating)}, "img")
    build_catalog(lake, tmp_path / "catalog.duckdb")
    conn = connect(tmp_path / "catalog.duckdb", lake)
    try:
        rows = conn.sql("SELECT * FROM caption_calibration").to_arrow_table().to_pylist()
    finally:
        conn.close()
    passed, meta = calibration_check(rows, min_pairs=3)
    return passed, meta, rows


def test_calibration_reports_rank_agreement_and_fails_when_humans_disagree(
    lake: Lake, tmp_path: Path
) -> None:
    # caption 0 is right, 1 names aircraft the record lacks, 2 carries boilerplate
    caps = lake.read_table(table_key("captions", "demo", 2020)).to_pylist()
    caps[1]["text"] = "The image showcases: three aircraft parked on a runway beside the farmland."
    caps[2]["text"] = "Farmland near Paris, France. Click here to read more, all rights reserved."
    lake.write_table(table_key("captions", "demo", 2020), from_rows("captions", caps), {})
    agree, meta, rows = calibration(lake, tmp_path / "a", [5, 1, 2])
    overall = {r["rubric"]: r["spearman"] for r in rows if r["signal"] == "overall"}
    assert set(overall) == set(RUBRIC) and all(v > 0 for v in overall.values()), rows
    assert agree and meta["disagreeing"] == "none"
    disagree, meta, _ = calibration(lake, tmp_path / "b", [1, 5, 4])
    assert not disagree and "overall~relevance" in meta["disagreeing"]


def test_rate_cli_names_the_missing_partition(rs_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rs_assets.cli import main

    assert main(["rate", "--source", "demo_synthetic", "--year", "2020", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "no captions for demo_synthetic|2020" in err and "materialise the partition first" in err
