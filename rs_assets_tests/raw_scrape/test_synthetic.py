"""The embedded synthetic source: deterministic, decodable with Pillow, realistic metadata, planted flaws."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise

import numpy as np
import pytest
from PIL import Image

from rs_assets.lib.raw_scrape.synthetic import FLAWS, SENSORS, generate
from rs_assets.lib.records import RawItem
from rs_assets.lib.sources import SyntheticSource

NAME = "demo_synthetic"
SOURCE = SyntheticSource(kind="synthetic", years=[2019, 2020, 2021], per_year=40, seed=7)
OBJECT_CLASSES = {"building", "storage_tank", "ship", "aircraft", "center_pivot"}


def _flaw(item: RawItem) -> str | None:
    return item.extra.get("synthetic_flaw")


def _decode(item: RawItem) -> Image.Image:
    img = Image.open(io.BytesIO(item.content or b""))
    img.load()
    return img


@pytest.fixture(scope="module")
def items() -> list[RawItem]:
    return [item for year in SOURCE.years for item in generate(NAME, SOURCE, year)]


@pytest.fixture(scope="module")
def decoded(items: list[RawItem]) -> list[tuple[RawItem, Image.Image]]:
    return [(item, _decode(item)) for item in items if _flaw(item) != "truncated"]


def test_same_inputs_give_identical_records(items: list[RawItem]) -> None:
    again = list(generate(NAME, SOURCE, 2020))
    assert again == [item for item in items if item.year == 2020]  # dataclass equality: bytes and metadata


def test_other_seed_or_name_gives_other_images(items: list[RawItem]) -> None:
    first = items[0].content
    reseeded = SOURCE.model_copy(update={"seed": 8})
    assert next(iter(generate(NAME, reseeded, 2019))).content != first
    assert next(iter(generate("other_source", SOURCE, 2019))).content != first


def test_unconfigured_year_yields_nothing() -> None:
    assert list(generate(NAME, SOURCE, 2018)) == []
    assert list(generate(NAME, SOURCE, 2022)) == []


def test_count_ids_and_urls(items: list[RawItem]) -> None:
    assert Counter(item.year for item in items) == {2019: 40, 2020: 40, 2021: 40}
    assert len({item.native_id for item in items}) == len(items)
    for item in items:
        _, year, index = item.native_id.rsplit("-", 2)
        assert int(year) == item.year
        ext = "jpg" if item.content[:2] == b"\xff\xd8" else "png"
        assert item.url == f"synthetic://{NAME}/{item.year}/{index}.{ext}"


def test_small_source_has_no_flaws() -> None:
    small = SyntheticSource(kind="synthetic", years=[2020], per_year=5, seed=1)
    out = list(generate("small", small, 2020))
    assert len(out) == 5
    assert not any(_flaw(item) for item in out)


def test_every_image_decodes_except_truncated(items: list[RawItem], decoded: list) -> None:
    for item, img in decoded:
        assert img.mode == "RGB"
        assert img.format == ("JPEG" if item.url.endswith(".jpg") else "PNG")
    truncated = [item for item in items if _flaw(item) == "truncated"]
    for item in truncated:
        with pytest.raises(OSError):
            _decode(item)


def test_sizes_and_formats_are_mixed(decoded: list) -> None:
    clean = [(item, img) for item, img in decoded if not _flaw(item)]
    sizes = {img.size for _, img in clean}
    assert {side for size in sizes for side in size} <= {256, 384, 512, 768, 1024}
    assert len({w for w, h in sizes if w == h}) >= 4
    non_square = [(w, h) for w, h in sizes if w != h]
    assert non_square and all(max(w, h) <= 2 * min(w, h) for w, h in non_square)
    jpeg_share = sum(img.format == "JPEG" for _, img in clean) / len(clean)
    assert 0.6 <= jpeg_share <= 0.9


def test_boxes_inside_image(decoded: list) -> None:
    seen = Counter()
    for item, img in decoded:
        for obj in item.objects:
            x1, y1, x2, y2 = obj["bbox"]
            assert 0 <= x1 < x2 <= img.width and 0 <= y1 < y2 <= img.height, (item.native_id, obj)
            assert obj["cls"] in OBJECT_CLASSES
            seen[obj["cls"]] += 1
    assert set(seen) == OBJECT_CLASSES


def test_landcover_sums_to_one(items: list[RawItem]) -> None:
    for item in items:
        assert item.landcover and all(0 < share <= 1 for share in item.landcover.values())
        assert sum(item.landcover.values()) == pytest.approx(1.0, abs=2e-3)
        assert item.cloud_cover == pytest.approx(item.landcover.get("cloud", 0.0))


def test_metadata_is_plausible(items: list[RawItem]) -> None:
    for item in items:
        assert item.status == "ok" and item.fetched_at is None
        start, end = datetime(item.year, 1, 1, tzinfo=UTC), datetime(item.year + 1, 1, 1, tzinfo=UTC)
        assert start <= item.captured_at < end and item.captured_at.utcoffset() is not None
        assert -90 <= item.lat <= 90 and -180 <= item.lon <= 180
        assert SENSORS[item.sensor] == item.gsd_m
        assert 0.0 <= item.cloud_cover <= 1.0
        assert item.title and item.text and item.sensor in item.text
        assert item.credits and "CC0" in item.credits
        assert isinstance(item.extra["scene_seed"], int) and 0 <= item.extra["scene_seed"] < 2**63
        assert item.extra["region"] in item.text
    assert all(item.labels for item in items if not _flaw(item))
    assert len({item.extra["region"] for item in items}) >= 15
    assert len({item.sensor for item in items}) == len(SENSORS)


def test_flaws_are_planted(items: list[RawItem], decoded: list) -> None:
    for year in SOURCE.years:
        kinds = Counter(_flaw(item) for item in items if item.year == year)
        assert all(kinds[kind] >= 1 for kind in FLAWS), (year, kinds)
        assert sum(kinds[kind] for kind in FLAWS) <= 0.2 * SOURCE.per_year
    by_id = {item.native_id: (item, img) for item, img in decoded}
    for item, img in decoded:
        flaw = _flaw(item)
        if flaw == "blank":
            assert np.asarray(img, dtype=np.float32).std() < 3
        elif flaw == "thumbnail":
            assert max(img.size) < 64
        elif flaw == "strip":
            assert max(img.size) >= 4 * min(img.size)
        elif flaw == "near_duplicate":
            original, original_img = by_id[item.extra["duplicate_of"]]
            assert not _flaw(original) and original.year == item.year and original.lat == item.lat
            assert original_img.size != img.size and original.content != item.content
            assert _thumb_diff(original_img, img) < 6  # the same scene: tiny difference at thumbnail scale


def _thumb_diff(a: Image.Image, b: Image.Image) -> float:
    small = [np.asarray(x.convert("L").resize((32, 32), Image.Resampling.BOX), np.float32) for x in (a, b)]
    return float(np.abs(small[0] - small[1]).mean())


def test_near_duplicates_differ_from_other_scenes(decoded: list) -> None:
    clean = [img for item, img in decoded if not _flaw(item)][:10]
    diffs = [_thumb_diff(a, b) for a, b in pairwise(clean)]
    assert min(diffs) > 6
