"""Detection and classification datasets read as they ship (DOTA, FAIR1M, DIOR VOC, DIOR-RSVG, COCO,
YOLO, MillionAID nested folders): fixtures laid out like the official downloads, real files and real
Pillow images, through `fetch_items` and through Dagster (raw_scrape + filtered_pool, in process)."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from PIL import Image

from rs_assets.lib.lake import Lake, table_key
from rs_assets.lib.raw_scrape.connectors import fetch_items
from rs_assets.lib.raw_scrape.formats import coco
from rs_assets.lib.raw_scrape.formats.paired import pair, split_of
from rs_assets.lib.records import RawItem
from rs_assets.lib.sources import SourcesConfigError, parse_sources
from rs_assets_tests.materialize_worker import MaterializeWorker

W, H = 128, 96  # every fixture image


def scene(seed: int, fmt: str = "PNG") -> bytes:
    """A W x H noise image: distinct per seed, and not blank for the pool."""
    pixels = np.random.default_rng(seed).integers(0, 255, (H, W, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt)
    return buf.getvalue()


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _source(**body: Any) -> Any:
    return parse_sources({"sources": {"ds": {"kind": "labeled", "default_year": 2018, **body}}})["ds"]


def _fetch(source: Any, tmp_path: Path, year: int = 2018) -> dict[str, RawItem]:
    items = list(fetch_items("ds", source, year, Lake(str(tmp_path / "lake"))))
    assert len(items) == len({i.native_id for i in items})
    return {i.native_id: i for i in items}


# ---------------------------------------------------------------- fixtures in the official layouts


def million_aid(root: Path) -> Path:
    """MillionAID's train folder: level-1/level-2/level-3 class folders (some leaves at level 2)."""
    for seed, rel in enumerate(
        (
            "agriculture_land/grassland/meadow/P0000001.jpg",
            "agriculture_land/arable_land/dry_field/P0000002.jpg",
            "transportation_land/airport_area/P0000003.jpg",
            "water_area/P0000004.jpg",  # a flat folder, as UCM has
        )
    ):
        write(root / "MillionAID" / "train" / rel, scene(seed, "JPEG"))
    return root / "MillionAID" / "train"


DOTA_P0001 = """\
imagesource:GoogleEarth
gsd:0.146343590398
10 10 60 10 60 40 10 40 plane 0
100 50 140 50 140 90 100 90 large-vehicle 1
200 10 220 10 220 30 200 30 ship 0
30 50 50 45 55 65 35 70 storage-tank 0
12 12 abc 12 20 20 12 20 plane 0
40 60 50 60 50 70 40 70 planee 0
"""


def dota(root: Path) -> Path:
    """DOTA-v1.0 as downloaded: train/ and val/ each with images/ and labelTxt/ (P0001 in both)."""
    base = root / "DOTA"
    for n in (1, 2, 3, 4):
        write(base / "train" / "images" / f"P000{n}.png", scene(n))
    write(base / "train" / "labelTxt" / "P0001.txt", DOTA_P0001)
    write(base / "train" / "labelTxt" / "P0002.txt", "")  # an image without objects
    write(base / "train" / "labelTxt" / "P0009.txt", "1 1 9 1 9 9 1 9 ship 0\n")  # its image is missing
    outside = write(root / "secret" / "P0004.txt", "1 1 9 1 9 9 1 9 plane 0\n")
    (base / "train" / "labelTxt" / "P0004.txt").symlink_to(outside)
    write(base / "val" / "images" / "P0001.png", scene(11))
    write(
        base / "val" / "labelTxt" / "P0001.txt", "imagesource:GF2\ngsd:null\n1 1 9 1 9 9 1 9 helicopter 0\n"
    )
    return base


P0001_OBJECTS = [
    {
        "cls": "plane",
        "bbox": [10.0, 10.0, 60.0, 40.0],
        "poly": [10.0, 10.0, 60.0, 10.0, 60.0, 40.0, 10.0, 40.0],
    },
    {  # clipped to the 128 px wide image
        "cls": "large-vehicle",
        "bbox": [100.0, 50.0, 128.0, 90.0],
        "poly": [100.0, 50.0, 128.0, 50.0, 128.0, 90.0, 100.0, 90.0],
    },
    {
        "cls": "storage-tank",
        "bbox": [30.0, 45.0, 55.0, 70.0],
        "poly": [30.0, 50.0, 50.0, 45.0, 55.0, 65.0, 35.0, 70.0],
    },
    {
        "cls": "planee",
        "bbox": [40.0, 60.0, 50.0, 70.0],
        "poly": [40.0, 60.0, 50.0, 60.0, 50.0, 70.0, 40.0, 70.0],
    },
]


def _fair1m_object(name: str, points: list[str]) -> str:
    joined = "".join(f"<point>{p}</point>" for p in points)
    return (
        "<object><coordinate>pixel</coordinate><type>rectangle</type><description>None</description>"
        f"<possibleresult><name>{name}</name></possibleresult><points>{joined}</points></object>"
    )


def _fair1m_xml(filename: str, objects: str, doctype: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{doctype}<annotation>'
        f"<source><filename>{filename}</filename><origin>GF2/GF3</origin></source>"
        "<research><version>1.0</version><provider>Company/School of team</provider><author>team</author>"
        "<pluginname>FAIR1M</pluginname><pluginclass>object detection</pluginclass><time>2021-03</time>"
        f"</research><size><width>{W}</width><height>{H}</height><depth>3</depth></size>"
        f"<objects>{objects}</objects></annotation>"
    )


def fair1m(root: Path) -> Path:
    """FAIR1M 1.0 train part1: images/*.tif, labelXml/*.xml (closed 5-point rings)."""
    base = root / "FAIR1M" / "train" / "part1"
    for n in (1, 2, 3):
        write(base / "images" / f"{n}.tif", scene(20 + n, "TIFF"))
    ring = ["20.0,10.0", "60.0,20.0", "50.0,60.0", "10.0,50.0", "20.0,10.0"]
    write(
        base / "labelXml" / "1.xml",
        _fair1m_xml(
            "1.tif",
            _fair1m_object("Boeing737", ring)
            + _fair1m_object("Small Car", ["5.0,6.0", "oops", "9,9", "5,9"])
            + _fair1m_object("Boeing999", ["1,1", "9,1", "9,9", "1,9", "1,1"]),
        ),
    )
    truncated = _fair1m_xml("2.tif", _fair1m_object("Bus", ["1,1", "9,1", "9,9", "1,9", "1,1"]) * 2)
    write(base / "labelXml" / "2.xml", truncated[: truncated.rindex("<object>") + 30])  # cut in object 2
    secret = write(root / "secret.txt", "TOP-SECRET-TOKEN")
    xxe = f'<!DOCTYPE annotation [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    write(base / "labelXml" / "3.xml", _fair1m_xml("3.tif", _fair1m_object("&xxe;", ring), xxe))
    return base


def _voc_object(name: str, body: str, difficult: int = 0, description: str = "") -> str:
    described = f"<description>{description}</description>" if description else ""
    return (
        f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated>"
        f"<difficult>{difficult}</difficult>{body}{described}</object>"
    )


def _bndbox(x1: float, y1: float, x2: float, y2: float) -> str:
    return f"<bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox>"


def _voc_xml(filename: str, objects: str) -> str:
    return (
        f"<annotation><filename>{filename}</filename><source><database>DIOR</database></source>"
        f"<size><width>{W}</width><height>{H}</height><depth>3</depth></size><segmented>0</segmented>"
        f"{objects}</annotation>"
    )


DIOR_R_BOX = (
    "<robndbox><x_left_top>20</x_left_top><y_left_top>10</y_left_top><x_right_top>60</x_right_top>"
    "<y_right_top>20</y_right_top><x_right_bottom>50</x_right_bottom><y_right_bottom>60</y_right_bottom>"
    "<x_left_bottom>10</x_left_bottom><y_left_bottom>50</y_left_bottom><angle>14</angle></robndbox>"
)
ROLABELIMG_BOX = f"<robndbox><cx>64</cx><cy>48</cy><w>40</w><h>20</h><angle>{math.pi / 2}</angle></robndbox>"


def dior(root: Path) -> Path:
    """DIOR: JPEGImages-trainval/ and JPEGImages-test/ beside one Annotations/ and ImageSets/Main/."""
    base = root / "DIOR"
    write(base / "JPEGImages-trainval" / "00001.jpg", scene(31, "JPEG"))
    write(base / "JPEGImages-test" / "11726.jpg", scene(32, "JPEG"))
    write(
        base / "Annotations" / "00001.xml",
        _voc_xml(
            "00001.jpg",
            _voc_object("airplane", _bndbox(10, 20, 40, 60), difficult=1)
            + _voc_object("Expressway-Service-area", _bndbox(70, 5, 50, 30))  # corners given swapped
            + _voc_object("spaceship", _bndbox(1, 1, 5, 5))
            + _voc_object(
                "ship", "<bndbox><xmin>abc</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>"
            ),
        ),
    )
    write(
        base / "Annotations" / "11726.xml",
        _voc_xml("../../secret.jpg", _voc_object("bridge", DIOR_R_BOX) + _voc_object("dam", ROLABELIMG_BOX)),
    )
    write(base / "ImageSets" / "Main" / "train.txt", "00001\n")
    write(base / "ImageSets" / "Main" / "trainval.txt", "00001\n")
    write(base / "ImageSets" / "Main" / "test.txt", "11726\n")
    return base


def dior_rsvg(root: Path) -> Path:
    """DIOR-RSVG: JPEGImages/, Annotations/ and train/val/test.txt numbering the objects from 0."""
    base = root / "DIOR_RSVG"
    for n in (1, 2):
        write(base / "JPEGImages" / f"0000{n}.jpg", scene(40 + n, "JPEG"))
    write(
        base / "Annotations" / "00001.xml",
        _voc_xml(
            "00001.jpg", _voc_object("golffield", _bndbox(13, 23, 68, 67), description="A green golf field")
        ),
    )
    write(
        base / "Annotations" / "00002.xml",
        _voc_xml(
            "00002.jpg",
            _voc_object("vehicle", _bndbox(5, 40, 20, 50), description="the vehicle on the left")
            + _voc_object("vehicle", _bndbox(100, 40, 115, 50), description="the vehicle on the right"),
        ),
    )
    write(base / "train.txt", "0\n1\n")
    write(base / "val.txt", "")
    write(base / "test.txt", "2\n")
    return base


def nwpu_coco(root: Path) -> tuple[Path, Path]:
    """NWPU VHR-10's positive image set with a COCO annotations.json (as torchgeo ships it)."""
    images = root / "NWPU VHR-10 dataset" / "positive image set"
    for n in (1, 2, 3):
        write(images / f"00{n}.jpg", scene(50 + n, "JPEG"))
    write(root / "NWPU VHR-10 dataset" / "secret.jpg", scene(59, "JPEG"))
    doc = {
        "info": {"description": "NWPU VHR-10"},
        "images": [
            {"id": 1, "file_name": "001.jpg", "width": W, "height": H, "date_captured": "2013-06-01"},
            {"id": 2, "file_name": "002.jpg", "width": W, "height": H},
            {"id": 3, "file_name": "../secret.jpg", "width": W, "height": H},
            {"id": 4, "file_name": "005.jpg", "width": W, "height": H},
            {"id": 5, "file_name": "002.jpg", "width": W, "height": H},
            "oops",
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 20, 30, 40], "area": 1200, "iscrowd": 0},
            {
                "id": 2,
                "image_id": 1,
                "category_id": 2,
                "bbox": [5, 5, 10, 10],
                "segmentation": [[5, 5, 15, 5, 15, 15, 5, 15]],
            },
            {"id": 3, "image_id": 2, "category_id": 9, "bbox": [100, 80, 50, 50]},
            {"id": 4, "image_id": 2, "category_id": 1, "bbox": [1, 2, 3]},
            {"id": 5, "image_id": 99, "category_id": 1, "bbox": [1, 1, 1, 1]},
            {"id": 6, "image_id": 5, "category_id": 1, "bbox": [1, 1, 4, 4]},
        ],
        "categories": [{"id": 1, "name": "airplane"}, {"id": 2, "name": "ship"}],
    }
    annotations = write(root / "NWPU VHR-10 dataset" / "annotations.json", coco_text(doc))
    return images, annotations


def coco_text(doc: dict[str, Any]) -> str:
    """COCO JSON with one array element per line, so a test can name an element's line."""
    members = []
    for key, value in doc.items():
        body = (
            "[\n" + ",\n".join(json.dumps(v) for v in value) + "\n]"
            if isinstance(value, list)
            else json.dumps(value)
        )
        members.append(f"{json.dumps(key)}: {body}")
    return "{\n" + ",\n".join(members) + "\n}\n"


def element(path: Path, fragment: str) -> str:
    """`file:line` of the COCO element starting with `fragment`, as rows name it."""
    text = path.read_text()
    return f"{path}:{text[: text.index(fragment)].count(chr(10)) + 1}"


DUPLICATE, OOPS, ORPHAN = '{"id": 5, "file_name"', '"oops"', '{"id": 5, "image_id": 99'


def yolo(root: Path) -> Path:
    """An Ultralytics dataset: data.yaml, images/{train,val}/, labels/{train,val}/."""
    base = root / "yolo_ds"
    write(
        base / "data.yaml", "path: .\ntrain: images/train\nval: images/val\nnames:\n  0: plane\n  1: ship\n"
    )
    write(base / "images" / "train" / "a.jpg", scene(61, "JPEG"))
    write(base / "images" / "val" / "b.jpg", scene(62, "JPEG"))
    write(
        base / "labels" / "train" / "a.txt",
        "0 0.5 0.5 0.25 0.5\n1 0.1 0.1 0.3 0.1 0.3 0.3 0.1 0.3\n7 0.5 0.5 0.1 0.1\n0 0.5 0.5\n",
    )
    return base


# ---------------------------------------------------------------- fetch_items


def test_nested_folders_give_the_hierarchy_leaf_last(tmp_path: Path) -> None:
    got = _fetch(_source(path=str(million_aid(tmp_path))), tmp_path)
    assert {k: (v.status, v.labels, v.extra.get("label_path")) for k, v in got.items()} == {
        "agriculture_land/grassland/meadow/P0000001.jpg": (
            "ok",
            ["agriculture_land", "grassland", "meadow"],
            "agriculture_land/grassland/meadow",
        ),
        "agriculture_land/arable_land/dry_field/P0000002.jpg": (
            "ok",
            ["agriculture_land", "arable_land", "dry_field"],
            "agriculture_land/arable_land/dry_field",
        ),
        "transportation_land/airport_area/P0000003.jpg": (
            "ok",
            ["transportation_land", "airport_area"],
            "transportation_land/airport_area",
        ),
        "water_area/P0000004.jpg": ("ok", ["water_area"], None),  # flat folders as before
    }


def _keyed(got: dict[str, RawItem]) -> dict[str, RawItem]:
    """Rows by image path; those without one (an annotation without image) by the annotation."""
    return {(v.extra.get("annotation", k) if v.url is None else k): v for k, v in got.items()}


def test_dota_labeltxt_from_the_dataset_root(tmp_path: Path) -> None:
    base = dota(tmp_path)
    got = _keyed(_fetch(_source(format="dota", path=str(base)), tmp_path))
    orphan = f"{base}/train/labelTxt/P0009.txt"
    assert {k: v.status for k, v in got.items()} == {
        "train/images/P0001.png": "ok",
        "train/images/P0002.png": "ok",
        "train/images/P0003.png": "no_annotation",
        "train/images/P0004.png": "ok",
        "val/images/P0001.png": "ok",  # the same file name in another split is another record
        orphan: "missing_image",
    }
    p1 = got["train/images/P0001.png"]
    assert p1.objects == P0001_OBJECTS and p1.labels == []
    assert (p1.gsd_m, p1.sensor) == (0.146343590398, "GoogleEarth")
    annotation = f"{base}/train/labelTxt/P0001.txt"
    assert p1.extra == {
        "annotation": annotation,
        "split": "train",
        "difficult": [1],
        "annotation_errors": [f"{annotation}:7: could not convert string to float: 'abc'"],
        "unknown_classes": {"planee": 1},
        "clipped_objects": 1,
        "dropped_objects": [
            {"cls": "ship", "bbox": [200.0, 10.0, 220.0, 30.0], "reason": "outside the image"}
        ],
    }
    val = got["val/images/P0001.png"]
    assert [o["cls"] for o in val.objects] == ["helicopter"] and val.extra["split"] == "val"
    assert (val.gsd_m, val.sensor) == (None, "GF2")  # gsd:null
    empty = got["train/images/P0002.png"]
    assert empty.objects == [] and empty.content and "annotation_errors" not in empty.extra
    unannotated = got["train/images/P0003.png"]
    assert unannotated.error == "no annotation file named P0003.*" and unannotated.content is None
    escaped = got["train/images/P0004.png"]
    assert escaped.objects == [] and "outside_root" in escaped.extra["annotation_errors"][0]
    missing = got[orphan]  # what the annotation says is kept
    assert missing.error == f"no image named P0009.* under {base}" and missing.url is None
    assert missing.objects == [
        {"cls": "ship", "bbox": [1.0, 1.0, 9.0, 9.0], "poly": [1.0, 1.0, 9.0, 1.0, 9.0, 9.0, 1.0, 9.0]}
    ]


def test_dota_with_images_and_annotations_apart(tmp_path: Path) -> None:
    base = dota(tmp_path)
    source = _source(
        format="dota",
        images=str(base / "train" / "images"),
        annotations=str(base / "train" / "labelTxt"),
        gsd_m=0.5,
    )
    got = _keyed(_fetch(source, tmp_path))
    assert set(got) == {
        "P0001.png",
        "P0002.png",
        "P0003.png",
        "P0004.png",
        f"{base}/train/labelTxt/P0009.txt",
    }
    assert got["P0001.png"].objects == P0001_OBJECTS and got["P0001.png"].extra["split"] == "train"
    assert got["P0002.png"].gsd_m == 0.5  # no gsd header: the source's


def test_dota_on_s3(s3_env: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="dota")
    s3.put_object(Bucket="dota", Key="train/images/P0001.png", Body=scene(1))
    s3.put_object(Bucket="dota", Key="train/labelTxt/P0001.txt", Body=DOTA_P0001.encode())
    s3.put_object(Bucket="dota", Key="train/labelTxt/P0009.txt", Body=b"")
    got = _keyed(_fetch(_source(format="dota", path="s3://dota"), tmp_path))
    assert got["train/images/P0001.png"].objects == P0001_OBJECTS
    assert got["train/images/P0001.png"].extra["clipped_objects"] == 1  # the image was read from S3
    assert got["s3://dota/train/labelTxt/P0009.txt"].status == "missing_image"


def test_pairing_by_stem_within_splits() -> None:
    images = [
        "JPEGImages-trainval/00001.jpg",  # DIOR with both annotation folders: two candidates
        "train/images/P1.png",  # the same name in two splits: each with its own
        "val/images/P1.png",
        "train/images/P2.png",  # its val annotation has no image
        "images/P3.png",  # two encodings of one stem share the annotation
        "images/P3.jpg",
        "images/P4.png",  # no split to choose between two annotations
        "images/P5.png",  # no annotation at all
        "train/images/P6.png",  # an annotation only in another split
    ]
    annotations = [
        "Horizontal Bounding Boxes/00001.xml",
        "Oriented Bounding Boxes/00001.xml",
        "train/labelTxt/P1.txt",
        "val/labelTxt/P1.txt",
        "train/labelTxt/P2.txt",
        "val/labelTxt/P2.txt",
        "labelTxt/P3.txt",
        "labelTxt/train/P4.txt",
        "labelTxt/val/P4.txt",
        "val/labelTxt/P6.txt",
    ]
    got = pair(images, annotations, split_of, split_of)
    assert {a: i for a, i in got.images_of.items() if i} == {
        "train/labelTxt/P1.txt": ["train/images/P1.png"],
        "val/labelTxt/P1.txt": ["val/images/P1.png"],
        "train/labelTxt/P2.txt": ["train/images/P2.png"],
        "labelTxt/P3.txt": ["images/P3.png", "images/P3.jpg"],
    }
    assert got.orphans == {"val/labelTxt/P2.txt", "val/labelTxt/P6.txt"}
    assert got.unpaired == {
        "JPEGImages-trainval/00001.jpg": "ambiguous: 2 annotation files named 00001.*: "
        "Horizontal Bounding Boxes/00001.xml, Oriented Bounding Boxes/00001.xml",
        "images/P4.png": "ambiguous: 2 annotation files named P4.*: "
        "labelTxt/train/P4.txt, labelTxt/val/P4.txt",
        "images/P5.png": "no annotation file named P5.*",
        "train/images/P6.png": "no annotation named P6.* in split train: only val/labelTxt/P6.txt",
    }


def test_fair1m_xml_points_malformed_files_and_no_entities(tmp_path: Path) -> None:
    base = fair1m(tmp_path)
    source = _source(format="fair1m", images=str(base / "images"), annotations=str(base / "labelXml"))
    got = _fetch(source, tmp_path)
    assert {k: v.status for k, v in got.items()} == {"1.tif": "ok", "2.tif": "ok", "3.tif": "ok"}
    one = got["1.tif"]
    assert one.sensor == "GF2/GF3"
    assert one.objects == [
        {
            "cls": "Boeing737",
            "bbox": [10.0, 10.0, 60.0, 60.0],
            "poly": [20.0, 10.0, 60.0, 20.0, 50.0, 60.0, 10.0, 50.0],
        },
        {"cls": "Boeing999", "bbox": [1.0, 1.0, 9.0, 9.0], "poly": [1.0, 1.0, 9.0, 1.0, 9.0, 9.0, 1.0, 9.0]},
    ]
    assert one.extra["unknown_classes"] == {"Boeing999": 1}
    (error,) = one.extra["annotation_errors"]
    assert error.startswith(f"{base}/labelXml/1.xml:1: object 2: <point> is 'oops'")
    two = got["2.tif"]  # cut in its second object: the first is read, the error named
    assert [o["cls"] for o in two.objects] == ["Bus"]
    assert any(e.startswith(f"{base}/labelXml/2.xml:") for e in two.extra["annotation_errors"])
    three = got["3.tif"]
    assert three.objects == [] and "no <possibleresult><name>" in three.extra["annotation_errors"][-1]
    assert "TOP-SECRET" not in repr(list(got.values()))  # the external entity was never read


def test_dior_voc_horizontal_and_oriented_boxes_with_imagesets_splits(tmp_path: Path) -> None:
    base = dior(tmp_path)
    got = _fetch(_source(format="voc", path=str(base), classes="dior"), tmp_path)
    assert set(got) == {"JPEGImages-trainval/00001.jpg", "JPEGImages-test/11726.jpg"}
    one = got["JPEGImages-trainval/00001.jpg"]
    assert one.objects == [
        {"cls": "airplane", "bbox": [10.0, 20.0, 40.0, 60.0]},
        {"cls": "Expressway-Service-area", "bbox": [50.0, 5.0, 70.0, 30.0]},
        {"cls": "spaceship", "bbox": [1.0, 1.0, 5.0, 5.0]},
    ]
    assert one.extra["split"] == "train" and one.extra["difficult"] == [0]
    assert one.extra["unknown_classes"] == {"spaceship": 1}
    assert "object 4: <xmin> is 'abc', not a number" in one.extra["annotation_errors"][0]
    test = got["JPEGImages-test/11726.jpg"]
    assert test.extra["split"] == "test" and "unknown_classes" not in test.extra
    bridge, dam = test.objects
    assert bridge == {
        "cls": "bridge",
        "bbox": [10.0, 10.0, 60.0, 60.0],
        "poly": [20.0, 10.0, 60.0, 20.0, 50.0, 60.0, 10.0, 50.0],
    }
    # roLabelImg: a 40 x 20 box centred on (64, 48) turned a quarter: 20 wide, 40 high
    assert dam["bbox"] == pytest.approx([54.0, 28.0, 74.0, 68.0])
    assert dam["poly"] == pytest.approx([74.0, 28.0, 74.0, 68.0, 54.0, 68.0, 54.0, 28.0])


def test_dior_rsvg_descriptions_and_object_numbered_splits(tmp_path: Path) -> None:
    base = dior_rsvg(tmp_path)
    source = _source(format="rsvg", images=str(base / "JPEGImages"), annotations=str(base / "Annotations"))
    got = _fetch(source, tmp_path)
    one, two = got["00001.jpg"], got["00002.jpg"]
    assert one.objects == [
        {"cls": "golffield", "bbox": [13.0, 23.0, 68.0, 67.0], "description": "A green golf field"}
    ]
    assert [o["description"] for o in two.objects] == ["the vehicle on the left", "the vehicle on the right"]
    assert (one.extra["split"], two.extra["split"]) == ("train", "test+train")


def test_coco_bbox_categories_and_every_mismatch_recorded(tmp_path: Path) -> None:
    images, annotations = nwpu_coco(tmp_path)
    source = _source(format="coco", images=str(images), annotations=str(annotations), default_year=2014)
    got = _keyed(_fetch(source, tmp_path, 2014))
    duplicate, oops, orphan = (element(annotations, f) for f in (DUPLICATE, OOPS, ORPHAN))
    bad_box, image_2 = (
        element(annotations, '{"id": 4, "image_id"'),
        element(annotations, '{"id": 2, "file_name"'),
    )
    assert {k: v.status for k, v in got.items()} == {
        "002.jpg": "ok",  # listed twice: one record
        "003.jpg": "no_annotation",  # on disk, in no images[]
        "../secret.jpg": "outside_root",
        "005.jpg": "missing_image",  # listed, not on disk
        oops: "invalid_row",
        orphan: "missing_image",  # annotations of an image_id no image has
    }
    two = got["002.jpg"]
    assert two.objects == [  # both entries' objects, the first clipped to the image
        {"cls": "9", "bbox": [100.0, 80.0, 128.0, 96.0]},
        {"cls": "airplane", "bbox": [1.0, 1.0, 5.0, 5.0]},
    ]
    assert two.extra["unknown_classes"] == {"9": 1} and two.extra["clipped_objects"] == 1
    line = bad_box.rsplit(":", 1)[1]
    assert two.extra["annotation_errors"] == [
        f"annotation at line {line}: bbox must be [x, y, width, height], not [1, 2, 3]"
    ]
    assert two.extra["coco_id"] == 2 and two.extra["annotation"] == image_2 and two.extra["entries"] == 2
    assert duplicate.startswith(str(annotations))
    assert got["003.jpg"].error == f"not in the images of {annotations}"
    assert got[oops].error == f"{oops}: images entry: not an object: str"
    assert got[orphan].error == "1 annotations of image_id 99, which no entry of images has"
    assert got[orphan].objects == [{"cls": "airplane", "bbox": [1.0, 1.0, 2.0, 2.0]}]
    assert got["005.jpg"].error == "no file 005.jpg in the image folder" and got["005.jpg"].content is None
    one = _fetch(source, tmp_path, 2013)["001.jpg"]  # date_captured 2013-06-01
    assert one.objects == [
        {"cls": "airplane", "bbox": [10.0, 20.0, 40.0, 60.0]},
        {"cls": "ship", "bbox": [5.0, 5.0, 15.0, 15.0], "poly": [5.0, 5.0, 15.0, 5.0, 15.0, 15.0, 5.0, 15.0]},
    ]
    assert one.captured_at is not None and one.captured_at.year == 2013


def test_coco_cut_short_keeps_what_was_read(tmp_path: Path) -> None:
    images, annotations = nwpu_coco(tmp_path)
    text = annotations.read_text()
    cut = element(annotations, '{"id": 3, "image_id": 2')
    annotations.write_text(text[: text.index('{"id": 3, "image_id": 2') + 12])  # inside annotations[]
    source = _source(format="coco", images=str(images), annotations=str(annotations))
    one = _fetch(source, tmp_path, 2013)["001.jpg"]  # its objects come before the cut, the categories after
    assert [o["cls"] for o in one.objects] == ["1", "2"] and one.extra["unknown_classes"] == {"1": 1, "2": 1}
    assert one.extra["annotation_errors"] == [
        f"{annotations}: 1 parts unreadable (its invalid_row rows), objects may be missing"
    ]
    (bad,) = (v for v in _fetch(source, tmp_path).values() if "not JSON" in (v.error or ""))
    assert bad.status == "invalid_row" and bad.error.startswith(f"{cut}: not JSON (")
    assert bad.error.endswith("the file ends here")


def _coco_doc(images: int, per_image: int) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    return {
        "images": [
            {"id": i, "file_name": f"{i:05d}.jpg", "width": 800, "height": 800} for i in range(images)
        ],
        "annotations": [
            {"id": k, "image_id": k // per_image, "category_id": 1 + k % 3, "bbox": [float(v) for v in xywh]}
            for k, xywh in enumerate(rng.uniform(0, 400, (images * per_image, 4)).round(3))
        ],
        "categories": [{"id": c, "name": f"class{c}"} for c in (1, 2, 3)],
    }


def test_coco_streamed_across_chunks_matches_a_full_parse(tmp_path: Path) -> None:
    doc = _coco_doc(2000, 10)  # ~2.5 MB: elements and numbers straddle the 1 MB chunks
    path = write(tmp_path / "instances_train.json", json.dumps(doc))
    (tmp_path / "images").mkdir()
    rows = list(coco.rows(_source(format="coco", images=str(tmp_path / "images"), annotations=str(path))))
    listed = {r["path"]: r for r in rows if isinstance(r, dict) and "coco_id" in r["extra"]}
    assert len(listed) == 2000 and all(r["extra"]["split"] == "train" for r in listed.values())
    for ann in doc["annotations"][::97]:
        x, y, w, h = ann["bbox"]
        objects = listed[f"{ann['image_id']:05d}.jpg"]["objects"]
        assert {"cls": f"class{ann['category_id']}", "bbox": [x, y, x + w, y + h]} in objects
    assert sum(len(r["objects"]) for r in listed.values()) == len(doc["annotations"])


MEMORY_PROBE = """
import sys, threading, time
from rs_assets.lib.raw_scrape.formats import coco
from rs_assets.lib.raw_scrape.formats.paired import pair, split_of
from rs_assets.lib.sources import parse_sources

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

def peak(path):
    src = parse_sources({"sources": {"c": {"kind": "labeled", "format": "coco", "images": sys.argv[1],
                                           "annotations": path, "default_year": 2018}}})["c"]
    top, done = [rss()], threading.Event()
    def sample():
        while not done.is_set():
            top[0] = max(top[0], rss())
            time.sleep(0.002)
    sampler = threading.Thread(target=sample)
    sampler.start()
    assert sum(1 for _ in coco.rows(src)) > 0
    done.set()
    sampler.join()
    return max(top[0], rss())

peak(sys.argv[4])  # a small file first: lazy imports and SQLite's first pages are not the parse's
base = rss()
print(peak(sys.argv[2]) - base, peak(sys.argv[3]) - base)
"""


def _coco_file(path: Path, images: int, per_image: int) -> Path:
    """A large COCO file written as text (building the dicts first would take longer than the test)."""
    listed = ",".join(
        f'{{"id": {i}, "file_name": "{i:05d}.jpg", "width": 800, "height": 800}}' for i in range(images)
    )
    boxes = ",".join(
        f'{{"id": {k}, "image_id": {k // per_image}, "category_id": {1 + k % 3}, '
        f'"bbox": [{k % 397}.25, {k % 389}.5, 30.125, 20.75], "area": 625.6, "iscrowd": 0}}'
        for k in range(images * per_image)
    )
    return write(
        path, f'{{"images": [{listed}], "annotations": [{boxes}], "categories": [{{"id": 1, "name": "a"}}]}}'
    )


def test_coco_memory_stays_flat_as_the_file_grows(tmp_path: Path) -> None:
    """Resident memory while parsing a file, then one twice its size, in one process: json.load needs
    several times each file (the second parse grows by ~6x the size difference); the stream needs one
    chunk, one element, one insert batch and SQLite's cache, reused by the second parse."""
    first = _coco_file(tmp_path / "first.json", 6000, 8)  # ~6 MB: past the fixed buffers and caches
    second = _coco_file(tmp_path / "second.json", 12000, 8)
    warm = _coco_file(tmp_path / "warm.json", 50, 8)
    (tmp_path / "images").mkdir()
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(tmp_path / "images"), str(first), str(second), str(warm)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 0, out.stderr[-2000:]
    peak_first, peak_second = map(int, out.stdout.split())
    growth = second.stat().st_size - first.stat().st_size
    # json.load grows by ~6x the difference; allocator and page-cache noise stay well under half of it
    assert peak_second - peak_first < 0.5 * growth, (peak_first, peak_second, growth)
    assert peak_second < second.stat().st_size, (peak_second, second.stat().st_size)


def test_yolo_normalised_boxes_scaled_to_pixels_with_data_yaml_names(tmp_path: Path) -> None:
    base = yolo(tmp_path)
    got = _fetch(_source(format="yolo", path=str(base)), tmp_path)
    a = got["images/train/a.jpg"]
    assert a.objects == [
        {"cls": "plane", "bbox": [48.0, 24.0, 80.0, 72.0]},
        {
            "cls": "ship",
            "bbox": pytest.approx([12.8, 9.6, 38.4, 28.8]),
            "poly": pytest.approx([12.8, 9.6, 38.4, 9.6, 38.4, 28.8, 12.8, 28.8]),
        },
        {"cls": "7", "bbox": pytest.approx([57.6, 43.2, 70.4, 52.8])},
    ]
    assert a.extra["unknown_classes"] == {"7": 1} and a.extra["split"] == "train"
    assert a.extra["annotation_errors"] == [
        f"{base}/labels/train/a.txt:4: expected class cx cy w h or class x1 y1 ... xn yn, got 3 fields"
    ]
    b = got["images/val/b.jpg"]
    assert (b.status, b.error, b.extra) == ("no_annotation", "no annotation file named b.*", {"split": "val"})


def test_classes_field_names_a_documented_list_or_is_refused() -> None:
    assert _source(format="voc", path="/d", classes="dior").classes == "dior"
    assert _source(format="yolo", path="/d", classes=["plane", "ship"]).classes == ["plane", "ship"]
    with pytest.raises(SourcesConfigError, match="field 'classes"):
        _source(format="voc", path="/d", classes="imagenet")


def test_a_missing_annotation_folder_is_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path / "images" / "a.png", scene(1))
    source = _source(format="dota", images=str(tmp_path / "images"), annotations=str(tmp_path / "labelTxt"))
    with pytest.raises(FileNotFoundError, match=r"source 'ds': folder .*labelTxt does not exist"):
        _fetch(source, tmp_path)


# ---------------------------------------------------------------- Dagster: raw_scrape + filtered_pool


@dataclass
class Env:
    worker: MaterializeWorker
    lake: Lake
    roots: dict[str, Path]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("formats")
    roots = {"maid": million_aid(tmp), "dota": dota(tmp), "fair1m": fair1m(tmp), "dior": dior(tmp)}
    roots["rsvg"], roots["yolo"] = dior_rsvg(tmp), yolo(tmp)
    coco_images, coco_json = nwpu_coco(tmp)
    roots["vhr10"] = coco_json
    common = {"kind": "labeled", "default_year": 2018}
    fair = roots["fair1m"]
    sources = {
        "maid": {**common, "path": str(roots["maid"])},
        "dota": {**common, "format": "dota", "path": str(roots["dota"])},
        "fair1m": {
            **common,
            "format": "fair1m",
            "images": str(fair / "images"),
            "annotations": str(fair / "labelXml"),
        },
        "dior": {**common, "format": "voc", "path": str(roots["dior"]), "classes": "dior"},
        "rsvg": {
            **common,
            "format": "rsvg",
            "images": str(roots["rsvg"] / "JPEGImages"),
            "annotations": str(roots["rsvg"] / "Annotations"),
        },
        "vhr10": {**common, "format": "coco", "images": str(coco_images), "annotations": str(coco_json)},
        "yolo": {**common, "format": "yolo", "path": str(roots["yolo"])},
    }
    path = write(tmp / "sources.yaml", json.dumps({"sources": sources}))
    worker = MaterializeWorker(path, tmp / "home")
    try:
        yield Env(worker, Lake(str(tmp / "home" / "lake")), roots)
    finally:
        worker.close()


def _materialize(env: Env, source: str, year: int = 2018) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(raw_scrape rows by native_id, filtered_pool drop reasons by native_id) after a clean run."""
    answer = env.worker.run(f"{source}|{year}")
    assert answer["success"], answer["failures"]
    assert {k: v for k, v in answer["checks"].items() if not v} == {}
    raw = {
        json.loads(r["extra"] or "{}").get("annotation", r["native_id"])
        if r["url"] is None
        else r["native_id"]: r
        for r in env.lake.read_table(table_key("raw_scrape", source, year)).to_pylist()
    }
    pool = env.lake.read_table(table_key("filtered_pool", source, year)).to_pylist()
    ids = {r["record_id"]: n for n, r in raw.items()}
    return raw, {ids[p["record_id"]]: p["drop_reason"] for p in pool}


def _objects(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The table's object structs in the RawItem shape (bbox, poly and description when set)."""
    out = []
    for o in row["objects"]:
        obj: dict[str, Any] = {"cls": o["cls"], "bbox": [o["x1"], o["y1"], o["x2"], o["y2"]]}
        obj.update({k: o[k] for k in ("poly", "description") if o[k] is not None})
        out.append(obj)
    return out


pytestmark = pytest.mark.xdist_group("formats_detection")  # one Dagster instance for the module


def test_dagster_dota_and_nested_folders(env: Env) -> None:
    raw, pool = _materialize(env, "dota")
    p1 = raw["train/images/P0001.png"]
    assert _objects(p1) == P0001_OBJECTS and p1["gsd_m"] == 0.146343590398 and p1["sensor"] == "GoogleEarth"
    assert (p1["width"], p1["height"]) == (W, H) and json.loads(p1["extra"])["difficult"] == [1]
    assert {n: r["status"] for n, r in raw.items() if r["status"] != "ok"} == {
        "train/images/P0003.png": "no_annotation",
        f"{env.roots['dota']}/train/labelTxt/P0009.txt": "missing_image",
    }
    assert pool == {n: None if r["status"] == "ok" else "fetch_failed" for n, r in raw.items()}
    assert _objects(raw[f"{env.roots['dota']}/train/labelTxt/P0009.txt"])[0]["cls"] == "ship"
    raw, pool = _materialize(env, "maid")
    assert raw["agriculture_land/grassland/meadow/P0000001.jpg"]["labels"] == [
        "agriculture_land",
        "grassland",
        "meadow",
    ]
    assert set(pool.values()) == {None}


def test_dagster_fair1m_dior_and_rsvg(env: Env) -> None:
    raw, pool = _materialize(env, "fair1m")
    assert _objects(raw["1.tif"])[0]["poly"] == [20.0, 10.0, 60.0, 20.0, 50.0, 60.0, 10.0, 50.0]
    assert set(pool.values()) == {None}
    raw, pool = _materialize(env, "dior")
    assert _objects(raw["JPEGImages-test/11726.jpg"])[0]["poly"] == [
        20.0,
        10.0,
        60.0,
        20.0,
        50.0,
        60.0,
        10.0,
        50.0,
    ]
    assert json.loads(raw["JPEGImages-trainval/00001.jpg"]["extra"])["split"] == "train"
    raw, pool = _materialize(env, "rsvg")
    assert [o["description"] for o in _objects(raw["00002.jpg"])] == [
        "the vehicle on the left",
        "the vehicle on the right",
    ]
    assert set(pool.values()) == {None}


def test_dagster_coco_and_yolo(env: Env) -> None:
    raw, pool = _materialize(env, "vhr10")
    assert _objects(raw["002.jpg"]) == [
        {"cls": "9", "bbox": [100.0, 80.0, 128.0, 96.0]},
        {"cls": "airplane", "bbox": [1.0, 1.0, 5.0, 5.0]},
    ]
    at = env.roots["vhr10"]
    assert {n: r["status"] for n, r in raw.items() if r["status"] != "ok"} == {
        "../secret.jpg": "outside_root",
        "005.jpg": "missing_image",
        "003.jpg": "no_annotation",
        element(at, OOPS): "invalid_row",
        element(at, ORPHAN): "missing_image",
    }
    assert pool["002.jpg"] is None and pool["005.jpg"] == "fetch_failed"
    raw, pool = _materialize(env, "vhr10", 2013)
    assert [o["cls"] for o in _objects(raw["001.jpg"])] == ["airplane", "ship"] and pool == {"001.jpg": None}
    raw, pool = _materialize(env, "yolo")
    assert _objects(raw["images/train/a.jpg"])[0] == {"cls": "plane", "bbox": [48.0, 24.0, 80.0, 72.0]}
    assert pool == {"images/train/a.jpg": None, "images/val/b.jpg": "fetch_failed"}  # b: no_annotation
