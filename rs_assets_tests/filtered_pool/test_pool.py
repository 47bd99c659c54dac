"""filtered_pool record logic: real Pillow decodes of images built here, decisions, the partition driver."""

from __future__ import annotations

import io
import struct
import zlib

import imagehash
import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from rs_assets.lib.filtered_pool.driver import pool_partition
from rs_assets.lib.filtered_pool.lexicon import RS_LEXICON, rs_text_score
from rs_assets.lib.filtered_pool.rules import decide
from rs_assets.lib.filtered_pool.scorers import ScorerUnavailable, load_rs_scorer
from rs_assets.lib.imaging import assess_image, phash
from rs_assets.lib.records import DROP_REASONS, image_id
from rs_assets.lib.sources import parse_sources
from rs_assets.lib.stages import schema_problems, stage

SOURCES = parse_sources(
    {
        "sources": {
            "lab": {"kind": "labeled", "path": "/x", "default_year": 2010},
            "pairs": {"kind": "pairs", "path": "/x.parquet", "default_year": 2020},
            "web": {
                "kind": "web",
                "feed_url": "https://example.org/feed",
                "rs_filter": False,
                "default_year": 2020,
            },
        }
    }
)


def scene(w: int = 640, h: int = 480, seed: int = 0) -> Image.Image:
    """A textured RGB scene (smooth noise): not blank, distinctive pHash."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray((rng.random((12, 16, 3)) * 255).astype(np.uint8))
    return small.resize((w, h), Image.Resampling.BICUBIC)


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def tiff(arr: np.ndarray, planar: bool = False, deflate: bool = False) -> bytes:
    """Minimal little-endian TIFF writer (one strip per plane) for layouts Pillow cannot write."""
    h, w, k = arr.shape
    arr = arr.astype("<u2")
    planes = [arr[..., i].tobytes() for i in range(k)] if planar else [arr.tobytes()]
    planes = [zlib.compress(p) for p in planes] if deflate else planes
    offsets, pos = [], 8
    for p in planes:
        offsets.append(pos)
        pos += len(p)
    extra: list[bytes] = []
    tags = [
        (256, 4, [w]),
        (257, 4, [h]),
        (258, 3, [16] * k),
        (259, 3, [8 if deflate else 1]),
        (262, 3, [2 if k >= 3 else 1]),
        (273, 4, offsets),
        (277, 3, [k]),
        (278, 4, [h]),
        (279, 4, [len(p) for p in planes]),
        (284, 3, [2 if planar else 1]),
        (339, 3, [1] * k),
    ]
    ifd_at = pos
    data_at = ifd_at + 2 + 12 * len(tags) + 4
    entries = []
    for tag, typ, values in tags:
        fmt = "<" + ("H" if typ == 3 else "I") * len(values)
        packed = struct.pack(fmt, *values)
        if len(packed) <= 4:
            entries.append(struct.pack("<HHI", tag, typ, len(values)) + packed.ljust(4, b"\0"))
        else:
            entries.append(struct.pack("<HHII", tag, typ, len(values), data_at + sum(map(len, extra))))
            extra.append(packed)
    ifd = struct.pack("<H", len(tags)) + b"".join(entries) + b"\0\0\0\0"
    return b"II*\0" + struct.pack("<I", ifd_at) + b"".join(planes) + ifd + b"".join(extra)


def bomb_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height: a few dozen bytes, no pixel data behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def bits(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


REFERENCE = assess_image(encode(scene(), "PNG"))


@pytest.mark.parametrize(
    "name,content",
    [
        ("jpeg", encode(scene(), "JPEG", quality=92)),
        ("cmyk_jpeg", encode(scene().convert("CMYK"), "JPEG", quality=92)),
        ("webp", encode(scene(), "WEBP", quality=90)),
        ("rgb_tiff", encode(scene(), "TIFF")),
        ("deflate_tiff", encode(scene(), "TIFF", compression="tiff_deflate")),
    ],
)
def test_formats_decode_to_the_same_scene(name: str, content: bytes) -> None:
    a = assess_image(content)
    assert a.error is None, a.detail
    assert (a.width, a.height) == (640, 480)
    assert bits(a.phash, REFERENCE.phash) <= 4
    thumb = Image.open(io.BytesIO(a.thumb))
    assert thumb.format == "JPEG" and max(thumb.size) == 256 and thumb.mode == "RGB"
    assert a.pixel_std > 10 and a.zero_fraction < 0.01


def test_phash_agrees_with_imagehash() -> None:
    for seed in range(5):
        content = encode(scene(1024, 1024, seed), "JPEG", quality=90)
        ours = assess_image(content).phash  # from the DCT-scaled draft decode
        ref = int(str(imagehash.phash(Image.open(io.BytesIO(content)))), 16)  # full decode
        assert bits(ours, ref) <= 4
        assert phash(Image.open(io.BytesIO(content))) == ref  # same definition on the same pixels


def test_exif_orientation_is_applied_to_thumbnail() -> None:
    img = scene(400, 200)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    a = assess_image(encode(img, "JPEG", exif=exif))
    assert (a.width, a.height) == (400, 200)  # stored size
    assert Image.open(io.BytesIO(a.thumb)).size == (128, 256)
    upright = assess_image(encode(img.transpose(Image.Transpose.ROTATE_270), "JPEG"))
    assert bits(a.phash, upright.phash) <= 4


def test_sixteen_bit_png_and_tiffs() -> None:
    gray = np.asarray(scene().convert("L"), dtype=np.uint16) * 257
    png16 = assess_image(encode(Image.fromarray(gray), "PNG"))
    assert png16.error is None and png16.mode.startswith("I;16") and png16.pixel_std > 10
    # a dark 16-bit RGB GeoTIFF (reflectance-like 0..3000): Pillow would keep the high byte (near black)
    rgb16 = (np.asarray(scene(), dtype=np.uint16) * 12).astype(np.uint16)
    for content in (tiff(rgb16), tiff(rgb16, deflate=True), tiff(rgb16, planar=True)):
        a = assess_image(content)
        assert a.error is None, a.detail
        assert (a.width, a.height) == (640, 480) and a.pixel_std > 20
        assert bits(a.phash, REFERENCE.phash) <= 8
    five = np.concatenate([rgb16, rgb16[..., :2]], axis=2)  # 5 bands: Pillow cannot open it at all
    a = assess_image(tiff(five, planar=True))
    assert a.error is None, a.detail
    assert a.format == "TIFF" and a.pixel_std > 20


def test_errors_and_guards() -> None:
    jpeg = encode(scene(), "JPEG")
    assert assess_image(jpeg[: len(jpeg) // 2]).error == "decode_error"
    assert assess_image(b"not an image").error == "decode_error"
    assert assess_image(bomb_png(20_000, 20_000)).error == "decompression_bomb"  # Pillow's own guard
    ours = assess_image(bomb_png(5000, 5000), max_pixels=1_000_000)  # ours, from the header
    assert ours.error == "decompression_bomb" and (ours.width, ours.height) == (5000, 5000)
    assert assess_image(tiff(np.zeros((4, 4, 3), np.uint16)), max_pixels=10).error == "decompression_bomb"


def test_blank_and_no_data_scores() -> None:
    flat = assess_image(encode(Image.new("RGB", (300, 300), (90, 120, 80)), "PNG"))
    assert flat.pixel_std < 1
    arr = np.asarray(scene(300, 300)).copy()
    arr[:, :200] = 0  # two thirds no-data
    assert assess_image(encode(Image.fromarray(arr), "PNG")).zero_fraction == pytest.approx(2 / 3, abs=0.03)


RS_TEXT = "Landsat 8 satellite image of a river delta"


def row(status: str = "ok", text: str | None = RS_TEXT, **kw: object) -> dict:
    return {"record_id": "r", "status": status, "text": text, **kw}


def test_decision_order() -> None:
    good = assess_image(encode(scene(), "JPEG"))
    lab, pairs, web = SOURCES["lab"], SOURCES["pairs"], SOURCES["web"]
    assert decide(row(), good, pairs).kept
    assert decide(row("timeout"), good, pairs).drop_reason == "fetch_failed"
    assert decide(row("prefiltered"), None, pairs).drop_reason == "keyword_prefilter"
    assert decide(row(), assess_image(b"xx"), pairs).drop_reason == "decode_error"
    assert decide(row(), assess_image(bomb_png(30_000, 30_000)), pairs).drop_reason == "decompression_bomb"
    assert decide(row(), assess_image(encode(scene(40, 30), "PNG")), pairs).drop_reason == "too_small"
    assert decide(row(), assess_image(encode(scene(1000, 100), "PNG")), pairs).drop_reason == "bad_aspect"
    blank = assess_image(encode(Image.new("RGB", (300, 300), 7), "PNG"))
    assert decide(row(), blank, pairs).drop_reason == "blank_image"
    assert decide(row(text="satellite"), good, pairs).drop_reason == "text_too_short"
    assert decide(row(text="a cat on a sofa"), good, pairs).drop_reason == "not_remote_sensing"
    assert decide(row(text="a cat on a sofa"), good, web).kept  # web: rs_filter off in this config
    assert decide(row(text=None), good, lab).kept  # labeled: no text filters
    assert decide(row(text="a cat on a sofa"), good, pairs, rs_score=0.9).kept
    assert {decide(row(), a, pairs).drop_reason for a in (blank,)} <= set(DROP_REASONS)


def test_rs_text_score() -> None:
    assert rs_text_score("Sentinel-2 true colour composite") > 0.9
    assert rs_text_score("sentinel2 scene") > 0.9
    assert rs_text_score("drone imagery of a field") > 0.5
    assert rs_text_score("a cat on a sofa") == 0.0
    assert rs_text_score("the sar is a river") == 0.0 and rs_text_score("SAR backscatter") >= 0.6
    assert rs_text_score("unsatellite") == 0.0
    # plurals and optional separators, case rules kept: the pairs prefilter is exactly `score > 0`
    for text in ("satellites", "Landsats", "sentinel2", "Sentinel-2", "SAR", "SARs", "remote-sensing"):
        assert rs_text_score(text) > 0, text
    for text in ("Sarah at the spa", "sentimental", "SARS outbreak", "esa"):
        assert rs_text_score(text) == 0.0, text
    assert rs_text_score("Landsats") == rs_text_score("Landsat") and rs_text_score("satellites") == 0.8
    assert all(0 < w < 1 for w in RS_LEXICON.values())


def test_unavailable_model_scorer_is_an_error_not_a_silent_lexicon() -> None:
    for name, extra in (("text_embedding", "text-embedding"), ("clip", "clip")):
        try:
            scorer = load_rs_scorer(name)
        except ScorerUnavailable as exc:  # the extra (torch) is not installed here
            assert name in str(exc) and f"[{extra}]" in str(exc)
        else:  # installed: the model itself scores
            assert scorer.name == name
    with pytest.raises(ValueError):
        load_rs_scorer("nope")


def raw_partition() -> tuple[pa.Table, dict[str, bytes]]:
    store: dict[str, bytes] = {}
    items: list[tuple[str, bytes | None, str]] = []
    for i in range(12):
        items.append(("ok", encode(scene(320, 240, i), "JPEG"), "jpg"))
    items += [
        ("ok", encode(scene(), "JPEG")[:500], "jpg"),
        ("ok", bomb_png(50_000, 50_000), "png"),
        ("ok", encode(scene(30, 30), "PNG"), "png"),
        ("timeout", None, "jpg"),
        ("prefiltered", None, "jpg"),
    ]
    items.append(items[0])  # same bytes in a second record: decoded once, both rows decided
    rows = []
    for n, (status, content, ext) in enumerate(items):
        iid = image_id(content) if content else None
        if content:
            store[iid] = content
        rows.append(
            {
                "record_id": f"rec{n:03d}",
                "source": "pairs",
                "year": 2020,
                "image_id": iid,
                "image_ext": ext if content else None,
                "status": status,
                "text": "aerial orthophoto of farmland" if n % 5 else "a birthday cake",
            }
        )
    schema = pa.schema([stage("raw_scrape").schema.field(c) for c in rows[0]])
    return pa.Table.from_pylist(rows, schema=schema), store


@pytest.mark.parametrize("workers", [1, 2])
def test_pool_partition_reconciles(workers: int) -> None:
    raw, store = raw_partition()
    loads: list[str] = []
    thumbs: dict[str, bytes] = {}

    def load(iid: str, ext: str) -> bytes:
        loads.append(iid)
        return store[iid]

    pool = pool_partition(raw, SOURCES["pairs"], load, thumbs.__setitem__, workers=workers, batch_size=4)
    assert schema_problems("filtered_pool", pool.schema) == []
    assert pool["record_id"].to_pylist() == raw["record_id"].to_pylist()
    assert sorted(loads) == sorted(set(store))  # every distinct image loaded exactly once
    got = dict(zip(pool["record_id"].to_pylist(), pool["drop_reason"].to_pylist(), strict=True))
    assert got["rec001"] is None and got["rec000"] == "not_remote_sensing"
    assert [got[f"rec{n:03d}"] for n in range(12, 17)] == [
        "decode_error",
        "decompression_bomb",
        "too_small",
        "fetch_failed",
        "keyword_prefilter",
    ]
    assert got["rec017"] is None  # same bytes as rec000, different text
    kept = pool.filter(pool["kept"])
    assert kept.num_rows == 10 and all(h is not None for h in kept["phash"].to_pylist())
    assert len(thumbs) == 13  # every decodable image, kept or not (the 30x30 one too)
    assert all(
        k ^ (r is not None)
        for k, r in zip(pool["kept"].to_pylist(), pool["drop_reason"].to_pylist(), strict=True)
    )


def test_phash_median_shortcut_matches_numpy_median() -> None:
    """phash thresholds at the mean of the two middle DCT values: exactly np.median, ties included."""
    from rs_assets.lib.imaging import _DCT8

    rng = np.random.default_rng(7)
    images = [Image.new("L", (40, 30), 128), scene(256, 192).convert("L"), scene(192, 256, 3)]
    images += [Image.fromarray((rng.integers(0, 3, (h, 256)) * 100).astype(np.uint8)) for h in (8, 100, 256)]
    for img in images:
        px = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
        low = _DCT8 @ px @ _DCT8.T
        ref = int.from_bytes(np.packbits(low.ravel() > np.median(low)).tobytes(), "big")
        assert phash(img) == ref
