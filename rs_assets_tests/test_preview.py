"""What the Dagster UI shows per partition: contact sheets stored in the lake and inlined in the
materialisation, the funnel of every stage (in == kept + dropped per reason) and the LLM numbers."""

from __future__ import annotations

import base64
import io
import re

import dagster as dg
import pyarrow.compute as pc
import pytest
from PIL import Image, ImageDraw, ImageFont

from rs_assets.lib.captions.strategies import STRATEGIES
from rs_assets.lib.funnel import Funnel, funnel, job_funnel
from rs_assets.lib.instruction_sets.tasks import TASKS
from rs_assets.lib.lake import contact_sheet_key
from rs_assets.lib.preview import MAX_TILES, Tile, contact_sheet, sheet_size, wrap

pytestmark = pytest.mark.xdist_group("published")
# stages whose unit is an image x a registry entry (captions also holds MpGI's per-perspective rows)
INTO = {
    "captions": ("strategy", STRATEGIES),
    "instruction_sets": ("task", TASKS),
}  # stages whose unit is an image x this column  # reads the session's `published` instance and lake


def metadata(published: dict, asset: str) -> dict:
    event = published["instance"].get_latest_materialization_event(dg.AssetKey(asset))
    assert event is not None, asset
    return event.asset_materialization.metadata


@pytest.mark.parametrize("asset", ["captions", "filtered_pool"])
def test_contact_sheet_is_in_the_lake_and_inline_in_the_materialisation(published: dict, asset: str) -> None:
    meta = metadata(published, asset)
    lake = published["lake"]
    key = contact_sheet_key(asset, "demo_synthetic", 2020)
    assert meta["contact_sheet_path"].value == lake.uri(key)
    stored = lake.read_bytes(key)
    tiles = meta["contact_sheet_images"].value
    images = lake.read_table(f"tables/{asset}/source=demo_synthetic/year=2020/part-0.parquet", ["image_id"])
    assert 0 < tiles == min(MAX_TILES, len(set(images["image_id"].to_pylist())))
    with Image.open(io.BytesIO(stored)) as sheet:
        assert sheet.format == "JPEG" and sheet.size == sheet_size(tiles)
        lo, hi = sheet.convert("L").getextrema()
        assert hi - lo > 50  # not blank
    pattern = r"!\[[^\]]*\]\(data:image/jpeg;base64,([A-Za-z0-9+/=]+)\)"
    inline = re.fullmatch(pattern, meta["contact_sheet"].value)
    assert inline is not None and base64.b64decode(inline.group(1)) == stored  # the UI shows the stored sheet


def test_funnels_reconcile_for_every_per_partition_stage(published: dict) -> None:
    stages = ("raw_scrape", "filtered_pool", "captions", "caption_scores", "instruction_sets")
    for asset in (*stages, "benchmark_splits", "release"):
        meta = metadata(published, asset)
        dropped = {k: v.value for k, v in meta.items() if k.startswith("funnel/dropped/")}
        total, kept = meta["funnel/in"].value, meta["funnel/kept"].value
        assert total > 0 and total == kept + sum(dropped.values()), asset
        assert sum(dropped.values()) == meta["funnel/dropped"].value, asset
        assert "| in |" in meta["funnel"].value and f"| {kept} |" in meta["funnel"].value
    # what entered each stage, counted from the tables (Funnel.total is kept + dropped by construction)
    lake = published["lake"]
    tables = {a: lake.read_all(a) for a in (*stages, "benchmark_splits")}
    pairs = {
        a: {(r["image_id"], r[k]) for r in tables[a].to_pylist() if r[k] in registry}
        for a, (k, registry) in INTO.items()
    }
    for asset, jobs in pairs.items():
        images, kinds = {i for i, _ in jobs}, {k for _, k in jobs}
        assert metadata(published, asset)["funnel/in"].value == len(images) * len(kinds) == len(jobs), asset
    candidates = set(tables["caption_scores"]["caption_id"].to_pylist())
    assert metadata(published, "caption_scores")["funnel/in"].value == len(candidates)
    kept = tables["filtered_pool"].filter(pc.field("kept")).num_rows
    assert metadata(published, "benchmark_splits")["funnel/in"].value == kept
    pool = metadata(published, "filtered_pool")
    raw = metadata(published, "raw_scrape")
    assert pool["funnel/in"].value == raw["dagster/row_count"].value  # every raw row reaches a decision
    assert pool["funnel/kept"].value == pool["kept"].value
    prefix = "funnel/dropped/"
    by_reason = {k[len(prefix) :]: v.value for k, v in pool.items() if k.startswith(prefix)}
    assert by_reason == pool["drop_reasons"].value


def test_llm_stages_report_calls_cache_hits_tokens_and_dollars(published: dict) -> None:
    meta = metadata(published, "captions")
    for key in ("calls", "cache_hits", "prompt_tokens", "completion_tokens", "cost_usd"):
        assert f"llm/{key}" in meta
    assert meta["llm/calls"].value + meta["llm/cache_hits"].value > 0  # the offline backend answers too
    assert "cache hits" in meta["llm"].value and "cost (USD)" in meta["llm"].value
    scores = metadata(published, "caption_scores")
    assert scores["judge"].value in ("on", "off") and "llm" in scores and "llm/calls" in scores


def test_contact_sheet_grid_and_placeholders() -> None:
    good = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 120, 40)).save(good, "JPEG")
    tiles = [Tile(good.getvalue(), "The image showcases: " + "farmland " * 30)] * 7
    tiles.append(Tile(b"nope", "broken"))
    with Image.open(io.BytesIO(contact_sheet(tiles))) as sheet:
        assert sheet.size == sheet_size(8) and sheet_size(8)[1] == 2 * sheet_size(1)[1]
        assert sheet.getpixel((20, 60))[1] > 100  # the green thumbnail is drawn, fitted in its cell
    with Image.open(io.BytesIO(contact_sheet([Tile(None, "x")] * (MAX_TILES + 5)))) as capped:
        assert capped.size == sheet_size(MAX_TILES)
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    font = ImageFont.load_default(size=11)
    lines = wrap("word " * 100, draw, font, 100)
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert all(draw.textlength(x, font=font) <= 100 for x in lines)


def test_funnel_counts_and_job_outcomes() -> None:
    f = funnel("records", [None, "too_small", None, "duplicate", "too_small"])
    assert f == Funnel("records", 2, {"duplicate": 1, "too_small": 2}) and f.total == 5
    assert f.metadata()["funnel/dropped"] == 3
    rows = [
        {"image_id": "a", "strategy": "gaia", "status": "failed"},
        {"image_id": "a", "strategy": "gaia", "status": "ok"},
        {"image_id": "b", "strategy": "gaia", "status": "refused"},
    ]
    jobs = job_funnel("image_strategies", rows, ("image_id", "strategy"), {("a", "gaia"), ("c", "gaia")})
    assert jobs == Funnel("image_strategies", 1, {"missing": 1, "refused": 1})
