"""Detection-format parsing throughput (not a test): rows/s and peak memory of DOTA and COCO at 10k
images, each against a naive parse measured in the same run.

Run: `python -m rs_assets_tests.bench.bench_formats [--quick]` (1k images).

- DOTA: 10k images and labelTxt files (10 oriented boxes each) through `dota.rows` (listing, stem
  pairing, safe reads, per-line parsing and checks) vs a naive loop (glob, open, split lines).
- COCO: one JSON of 10k images and 100k annotations (with segmentation quadrilaterals) through
  `coco.rows` (streamed into SQLite) vs `json.load` plus grouping the annotations by image; then the
  same at 4x the size: the stream's peak memory stays flat, json.load's grows with the file.
Each measurement runs in a fresh process so that peak resident memory is its own.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

OBJECTS_PER_IMAGE = 10
PNG_1PX = (  # a valid 1x1 PNG: listing and pairing need files, parsing never opens them
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _measure(run: Any) -> dict[str, float]:
    """Seconds, rows and peak resident memory above the start of `run()` (sampled every 2 ms)."""
    base, top, done = _rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            top[0] = max(top[0], _rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    rows = run()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return {"seconds": seconds, "rows": rows, "peak_mb": (max(top[0], _rss()) - base) / 1e6}


def make_dota(root: Path, images: int) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labelTxt").mkdir()
    header = "imagesource:GoogleEarth\ngsd:0.146343590398\n"
    for n in range(images):
        (root / "images" / f"P{n:05d}.png").write_bytes(PNG_1PX)
        lines = [
            f"{x} {y} {x + 30} {y + 5} {x + 25} {y + 35} {x - 5} {y + 30} small-vehicle {k % 2}"
            for k in range(OBJECTS_PER_IMAGE)
            for x, y in [((n * 7 + k * 53) % 900 + 10, (n * 11 + k * 37) % 900 + 10)]
        ]
        (root / "labelTxt" / f"P{n:05d}.txt").write_text(header + "\n".join(lines) + "\n")
    return root


def make_coco(path: Path, images: int) -> Path:
    listed = ",".join(
        f'{{"id": {i}, "file_name": "{i:06d}.jpg", "width": 1024, "height": 1024, "date_captured": ""}}'
        for i in range(images)
    )
    boxes = ",\n".join(
        f'{{"id": {k}, "image_id": {k // OBJECTS_PER_IMAGE}, "category_id": {1 + k % 10}, '
        f'"bbox": [{k % 901}.5, {k % 887}.25, 30.0, 20.0], "area": 600.0, "iscrowd": 0, '
        f'"segmentation": [[{k % 901}.5, {k % 887}.25, {k % 901 + 30}.5, {k % 887}.25, {k % 901 + 30}.5, '
        f"{k % 887 + 20}.25, {k % 901}.5, {k % 887 + 20}.25]]}}"
        for k in range(images * OBJECTS_PER_IMAGE)
    )
    names = ",".join(f'{{"id": {c}, "name": "class{c}"}}' for c in range(1, 11))
    path.write_text(
        f'{{"info": {{}}, "images": [{listed}], "annotations": [{boxes}], "categories": [{names}]}}'
    )
    return path


def _source(**body: Any) -> Any:
    from rs_assets.lib.sources import parse_sources

    return parse_sources({"sources": {"b": {"kind": "labeled", "default_year": 2020, **body}}})["b"]


def dota_ours(root: str) -> int:
    from rs_assets.lib.raw_scrape.formats import dota

    return sum(1 for _ in dota.rows(_source(format="dota", path=root)))


def dota_naive(root: str) -> int:
    """What a one-off script does: every labelTxt, its lines split, no checks, no pairing."""

    def rows() -> Iterator[dict[str, Any]]:
        for txt in sorted(glob.glob(f"{root}/labelTxt/*.txt")):
            with open(txt) as fh:
                parts = [
                    line.split()
                    for line in fh
                    if line.strip() and not line.startswith(("imagesource", "gsd"))
                ]
            yield {"path": txt, "objects": [{"poly": [float(v) for v in p[:8]], "cls": p[8]} for p in parts]}

    return sum(1 for _ in rows())


def coco_ours(path: str, images: str) -> int:
    from rs_assets.lib.raw_scrape.formats import coco

    return sum(1 for _ in coco.rows(_source(format="coco", images=images, annotations=path)))


def coco_naive(path: str, images: str) -> int:
    """json.load, then the annotations grouped by image."""
    with open(path) as fh:
        doc = json.load(fh)
    by_image: dict[Any, list[Any]] = {}
    for ann in doc["annotations"]:
        x, y, w, h = ann["bbox"]
        by_image.setdefault(ann["image_id"], []).append(
            {"cls": ann["category_id"], "bbox": [x, y, x + w, y + h]}
        )
    rows = ({"path": i["file_name"], "objects": by_image.get(i["id"], [])} for i in doc["images"])
    return sum(1 for _ in rows)


RUNS = {"dota_ours": dota_ours, "dota_naive": dota_naive, "coco_ours": coco_ours, "coco_naive": coco_naive}


def _child(name: str, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "rs_assets_tests.bench.bench_formats", "--child", name, *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.splitlines()[-1])


def _line(label: str, got: dict[str, float]) -> str:
    rate = got["rows"] / got["seconds"]
    return f"{label:<34} {got['seconds']:7.2f} s  {rate:9.0f} rows/s  peak +{got['peak_mb']:6.1f} MB"


def main() -> int:
    if "--child" in sys.argv:
        import rs_assets.lib.raw_scrape.formats.coco
        import rs_assets.lib.raw_scrape.formats.dota  # noqa: F401  # imports are not what is measured

        name, *args = sys.argv[sys.argv.index("--child") + 1 :]
        print(json.dumps(_measure(lambda: RUNS[name](*args))))
        return 0
    images = 1_000 if "--quick" in sys.argv else 10_000
    with tempfile.TemporaryDirectory(prefix="bench_formats_") as tmp:
        root = make_dota(Path(tmp) / "DOTA", images)
        ours, naive = _child("dota_ours", str(root)), _child("dota_naive", str(root))
        print(f"DOTA: {images} images x {OBJECTS_PER_IMAGE} oriented boxes")
        print(_line("  rows (listing, pairing, checks)", ours))
        print(_line("  naive (glob, split lines)", naive))
        print(f"  ours / naive speed: {naive['seconds'] / ours['seconds']:.2f}x")

        (Path(tmp) / "images").mkdir()
        for scale in (1, 4):
            path = make_coco(Path(tmp) / f"coco{scale}.json", images * scale)
            size = path.stat().st_size / 1e6
            ours = _child("coco_ours", str(path), str(Path(tmp) / "images"))
            naive = _child("coco_naive", str(path), str(Path(tmp) / "images"))
            count = images * scale
            print(f"COCO: {count} images, {count * OBJECTS_PER_IMAGE} annotations, {size:.0f} MB")
            print(_line("  rows (streamed, SQLite)", ours))
            print(_line("  json.load + group by image", naive))
            print(
                f"  ours / naive speed: {naive['seconds'] / ours['seconds']:.2f}x, "
                f"peak memory: {ours['peak_mb'] / max(naive['peak_mb'], 0.1):.2f}x"
            )
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
