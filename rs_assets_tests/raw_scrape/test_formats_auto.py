"""`format: auto` on DIOR, DIOR-R and YOLO roots laid out exactly as they ship (real files, real Pillow
images): the format it detects, the folders it fills in, the log line, and rows whose objects match the
annotation files; `format: voc` / `format: yolo` given the same root read the same rows."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from rs_assets.lib.raw_scrape.formats.auto import detect, resolve
from rs_assets.lib.records import RawItem
from rs_assets_tests.raw_scrape.test_formats_detection import (
    _bndbox,
    _fetch,
    _source,
    _voc_object,
    _voc_xml,
    dior,
    scene,
    write,
)

HBB, OBB = "Horizontal Bounding Boxes", "Oriented Bounding Boxes"


def _robndbox(*corners: float) -> str:
    """DIOR-R's oriented box: the four corners from the left top, clockwise, and the angle."""
    names = [f"{a}_{c}" for c in ("left_top", "right_top", "right_bottom", "left_bottom") for a in "xy"]
    body = "".join(f"<{n}>{v}</{n}>" for n, v in zip(names, corners, strict=True))
    return f"<type>robndbox</type><robndbox>{body}<angle>0</angle></robndbox>"


def dior_r(root: Path) -> Path:
    """The DIOR-R download: the DIOR image folders and ImageSets, `Annotations/` holding the same
    objects twice, horizontal and oriented."""
    base = root / "DIOR-R"
    write(base / "JPEGImages-trainval" / "00001.jpg", scene(71, "JPEG"))
    write(base / "JPEGImages-test" / "11726.jpg", scene(72, "JPEG"))
    hbb, obb = base / "Annotations" / HBB, base / "Annotations" / OBB
    write(
        hbb / "00001.xml",
        _voc_xml(
            "00001.jpg",
            _voc_object("airplane", _bndbox(10, 10, 60, 60)) + _voc_object("ship", _bndbox(70, 50, 90, 60)),
        ),
    )
    write(
        obb / "00001.xml",
        _voc_xml(
            "00001.jpg",
            _voc_object("airplane", _robndbox(20, 10, 60, 20, 50, 60, 10, 50))
            + _voc_object("ship", _robndbox(70, 50, 90, 50, 90, 60, 70, 60)),
        ),
    )
    write(hbb / "11726.xml", _voc_xml("11726.jpg", _voc_object("vehicle", _bndbox(5, 5, 15, 25))))
    write(
        obb / "11726.xml",
        _voc_xml("11726.jpg", _voc_object("vehicle", _robndbox(5, 5, 15, 5, 15, 25, 5, 25))),
    )
    write(base / "ImageSets" / "Main" / "train.txt", "00001\n")
    write(base / "ImageSets" / "Main" / "test.txt", "11726\n")
    return base


def _view(got: dict[str, RawItem]) -> dict[str, tuple[str, list[dict[str, Any]], str | None]]:
    return {k: (v.status, v.objects, v.extra.get("split")) for k, v in got.items()}


def test_dior_root_as_shipped_reads_both_image_folders(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = dior(tmp_path)
    source = _source(format="auto", path=str(base))
    found = detect(source)
    assert (found.format, found.updates) == ("voc", {"annotations": str(base / "Annotations")})
    with caplog.at_level(logging.INFO, logger="rs_assets.lib.raw_scrape.formats.auto"):
        resolve("dior", source)
    assert f"source 'dior': format auto -> voc ({base}/Annotations/00001.xml" in caplog.text
    got = _fetch(source, tmp_path)
    assert {k: (v.status, v.extra["split"], v.extra["auto_format"]) for k, v in got.items()} == {
        "JPEGImages-trainval/00001.jpg": ("ok", "train", "voc"),
        "JPEGImages-test/11726.jpg": ("ok", "test", "voc"),
    }
    assert got["JPEGImages-trainval/00001.jpg"].objects == [
        {"cls": "airplane", "bbox": [10.0, 20.0, 40.0, 60.0]},
        {"cls": "Expressway-Service-area", "bbox": [50.0, 5.0, 70.0, 30.0]},
        {"cls": "spaceship", "bbox": [1.0, 1.0, 5.0, 5.0]},
    ]
    bridge, dam = got["JPEGImages-test/11726.jpg"].objects
    assert bridge == {
        "cls": "bridge",
        "bbox": [10.0, 10.0, 60.0, 60.0],
        "poly": [20.0, 10.0, 60.0, 20.0, 50.0, 60.0, 10.0, 50.0],
    }
    assert dam["cls"] == "dam" and dam["bbox"] == pytest.approx([54.0, 28.0, 74.0, 68.0])
    explicit = _fetch(_source(format="voc", path=str(base)), tmp_path)
    assert _view(explicit) == _view(got)


DIOR_R_ROWS = {
    "JPEGImages-trainval/00001.jpg": (
        "ok",
        [
            {
                "cls": "airplane",
                "bbox": [10.0, 10.0, 60.0, 60.0],
                "poly": [20.0, 10.0, 60.0, 20.0, 50.0, 60.0, 10.0, 50.0],
            },
            {
                "cls": "ship",
                "bbox": [70.0, 50.0, 90.0, 60.0],
                "poly": [70.0, 50.0, 90.0, 50.0, 90.0, 60.0, 70.0, 60.0],
            },
        ],
        "train",
    ),
    "JPEGImages-test/11726.jpg": (
        "ok",
        [
            {
                "cls": "vehicle",
                "bbox": [5.0, 5.0, 15.0, 25.0],
                "poly": [5.0, 5.0, 15.0, 5.0, 15.0, 25.0, 5.0, 25.0],
            }
        ],
        "test",
    ),
}


def test_dior_r_reads_the_oriented_folder(tmp_path: Path) -> None:
    base = dior_r(tmp_path)
    source = _source(format="auto", path=str(base), classes="dior")
    found = detect(source)
    assert (found.format, found.updates) == ("voc", {"annotations": str(base / "Annotations")})
    got = _fetch(source, tmp_path)
    assert _view(got) == DIOR_R_ROWS
    assert got["JPEGImages-test/11726.jpg"].extra["annotation"] == f"{base}/Annotations/{OBB}/11726.xml"
    assert "unknown_classes" not in got["JPEGImages-trainval/00001.jpg"].extra
    for explicit in (  # the root, or the Annotations folder holding both: the oriented files
        _source(format="voc", path=str(base), classes="dior"),
        _source(format="voc", path=str(base), annotations=str(base / "Annotations")),
    ):
        assert _view(_fetch(explicit, tmp_path)) == DIOR_R_ROWS
    horizontal = _fetch(
        _source(format="voc", path=str(base), annotations=str(base / "Annotations" / HBB)), tmp_path
    )
    assert horizontal["JPEGImages-trainval/00001.jpg"].objects == [
        {"cls": "airplane", "bbox": [10.0, 10.0, 60.0, 60.0]},
        {"cls": "ship", "bbox": [70.0, 50.0, 90.0, 60.0]},
    ]


# YOLO: 128 x 96 images; a: two planes and a storage tank, b: an empty label file, c: an OBB ship
LABELS = {
    "a": "0 0.5 0.5 0.25 0.5\n2 0.25 0.25 0.125 0.25\n0 0.75 0.25 0.125 0.25\n",
    "b": "",
    "c": "1 0.1 0.1 0.3 0.1 0.3 0.3 0.1 0.3\n",
}
NAMED = {
    "a": [
        {"cls": "plane", "bbox": [48.0, 24.0, 80.0, 72.0]},
        {"cls": "storage-tank", "bbox": [24.0, 12.0, 40.0, 36.0]},
        {"cls": "plane", "bbox": [88.0, 12.0, 104.0, 36.0]},
    ],
    "b": [],
    "c": [
        {
            "cls": "ship",
            "bbox": pytest.approx([12.8, 9.6, 38.4, 28.8]),
            "poly": pytest.approx([12.8, 9.6, 38.4, 9.6, 38.4, 28.8, 12.8, 28.8]),
        }
    ],
}
NAMES_LIST = "names: [plane, ship, storage-tank]\n"
NAMES_DICT = "names:\n  0: plane\n  1: ship\n  2: storage-tank\n"
SPLIT_OF = {"a": "train", "b": "train", "c": "val"}
# name: (image folder of each split, label folder of each split, YAML file, names, auto's folders)
LAYOUTS = {
    "ultralytics": ("images/{split}", "labels/{split}", "data.yaml", NAMES_DICT, ("images", "labels")),
    "ultralytics_dataset_yaml": (
        "images/{split}",
        "labels/{split}",
        "dataset.yaml",
        NAMES_LIST,
        ("images", "labels"),
    ),
    "flat": ("images", "labels", "data.yaml", NAMES_LIST, ("images", "labels")),
    "roboflow": ("{split}/images", "{split}/labels", "data.yaml", NAMES_LIST, None),
    "no_yaml": ("images/{split}", "labels/{split}", None, None, ("images", "labels")),
}


def yolo_dataset(root: Path, layout: str) -> Path:
    images, labels, yaml_name, names, _ = LAYOUTS[layout]
    base = root / layout
    if yaml_name:
        write(base / yaml_name, f"path: .\ntrain: images/train\nval: images/val\nnc: 3\n{names}")
    for seed, (stem, text) in enumerate(LABELS.items()):
        split = (
            {"val": "valid"}.get(SPLIT_OF[stem], SPLIT_OF[stem]) if layout == "roboflow" else SPLIT_OF[stem]
        )
        write(base / images.format(split=split) / f"{stem}.jpg", scene(80 + seed, "JPEG"))
        write(base / labels.format(split=split) / f"{stem}.txt", text)
    return base


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_yolo_layouts(tmp_path: Path, layout: str, caplog: pytest.LogCaptureFixture) -> None:
    base = yolo_dataset(tmp_path, layout)
    folders = LAYOUTS[layout][4]
    source = _source(format="auto", path=str(base))
    found = detect(source)
    expected = {"images": str(base / folders[0]), "annotations": str(base / folders[1])} if folders else {}
    assert (found.format, found.updates) == ("yolo", expected)
    with caplog.at_level(logging.INFO, logger="rs_assets.lib.raw_scrape.formats.auto"):
        resolve("ships", source)
    assert "source 'ships': format auto -> yolo" in caplog.text
    got = _fetch(source, tmp_path)
    by_stem = {Path(k).stem: v for k, v in got.items()}
    assert {k: v.status for k, v in by_stem.items()} == dict.fromkeys(LABELS, "ok")
    assert all(v.extra["auto_format"] == "yolo" for v in got.values())
    if LAYOUTS[layout][3] is None:  # no YAML: the class is the index
        assert [o["cls"] for o in by_stem["a"].objects] == ["0", "2", "0"]
    else:
        assert {k: v.objects for k, v in by_stem.items()} == NAMED
    splits = {k: v.extra.get("split") for k, v in by_stem.items()}
    assert splits == (dict.fromkeys(LABELS) if layout == "flat" else SPLIT_OF)
    explicit = _fetch(_source(format="yolo", path=str(base)), tmp_path)  # the root as the format reads it
    assert {Path(k).stem: v.objects for k, v in explicit.items()} == {
        k: v.objects for k, v in by_stem.items()
    }


def test_a_yaml_without_names_is_not_yolo(tmp_path: Path) -> None:
    write(tmp_path / "d" / "config.yaml", "names: [a]\n")  # not a dataset YAML's name
    write(tmp_path / "d" / "data.yaml", "train: x\n")
    write(tmp_path / "d" / "forest" / "a.jpg", scene(1, "JPEG"))
    assert detect(_source(format="auto", path=str(tmp_path / "d"))).format == "folders"
