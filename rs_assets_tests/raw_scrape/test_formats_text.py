"""Legacy text annotations (`karpathy`, `captions_csv`, `rsvqa`) read as the datasets ship them, with
their bad entries as rows, through fetch_items, a real Dagster materialize and the instruction tasks."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from PIL import Image

from rs_assets.lib.captions.facts import record_facts, rule_text
from rs_assets.lib.instruction_sets.build import build_instructions
from rs_assets.lib.instruction_sets.legacy import SHORT_ANSWER
from rs_assets.lib.lake import Lake, table_key
from rs_assets.lib.raw_scrape.connectors import fetch_items
from rs_assets.lib.raw_scrape.connectors.files import BadRow
from rs_assets.lib.raw_scrape.formats.json_entries import CHUNK, list_entries
from rs_assets.lib.raw_scrape.rows import to_row
from rs_assets.lib.records import RawItem
from rs_assets.lib.sources import SourcesConfigError, parse_sources
from rs_assets_tests.loopback_site import image_bytes
from rs_assets_tests.materialize_worker import MaterializeWorker


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
        "path,ref_captions,ref_qa,outcome\n"
        'a.jpg,a harbour with ships,"[{""question"": ""Is there water?"", ""answer"": ""yes""}]",\n'
        'b.jpg,"[""two roads"", ""a crossing""]",not json,missing_image\n'
    )
    got = _fetch(_source(path=str(tmp_path), index="index.csv"), tmp_path)
    a, b = got["a.jpg"], got["b.jpg"]
    assert a.ref_captions == ["a harbour with ships"]
    water = {"question": "Is there water?", "answer": "yes", "type": None}
    assert to_row("legacy", a)[0]["ref_qa"] == [water]
    assert b.status == "ok" and b.ref_captions == ["two roads", "a crossing"] and b.ref_qa == []
    assert b.extra["ref_qa_error"].startswith("JSONDecodeError")
    assert b.extra["outcome"] == "missing_image"  # a column of that name is data, not a status


def texture(seed: int, fmt: str = "JPEG", size: int = 96) -> bytes:
    """A textured image (noise), so the pool keeps it (a flat colour is a blank tile)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt)
    return buf.getvalue()


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
    return path


def _statuses(got: dict[str, RawItem]) -> dict[str, str]:
    return {k: v.status for k, v in got.items()}


def rsicd(root: Path) -> Path:
    """RSICD as shipped: `RSICD_images/` and `dataset_rsicd.json` (Karpathy's layout), with hostile
    entries: a sentence without text, a missing comma (line 4), an entry without a filename (line 5), an
    absent image, a path out of the folder, and a file listed again under another split."""
    for seed, name in enumerate(["airport_1.jpg", "beach_2.jpg", "bridge_3.jpg", "stray_9.jpg"], 1):
        _write(root / "RSICD" / "RSICD_images" / name, texture(seed))
    _write(root / "RSICD" / "RSICD_images" / "readme.txt", "not an image, not a record")
    _write(root / "secret" / "key.jpg", texture(99))
    entries = [
        '{"filename": "airport_1.jpg", "imgid": 0, "split": "train", "sentences": [{"raw": "many planes are '
        'parked near a terminal ."}, {"raw": "many planes are parked near a terminal ."}, {"tokens": ["an", '
        '"airport", "with", "a", "runway"]}, {"raw": 3}], "sentids": [0, 1, 2, 3]}',
        '{"filename": "beach_2.jpg", "imgid": 1, "split": "test", "sentences": [{"raw": "a beach ."}]}',
        '{"filename": "bridge_3.jpg" "imgid": 2, "split": "val", "sentences": []}',
        '{"imgid": 3, "split": "val", "sentences": [{"raw": "a caption of no image"}]}',
        '{"filename": "missing_4.jpg", "imgid": 4, "split": "val", "sentences": [{"raw": "a river ."}]}',
        '{"filename": "../../secret/key.jpg", "imgid": 5, "split": "train", "sentences": [{"raw": "x"}]}',
        '{"filename": "airport_1.jpg", "imgid": 6, "split": "test", "sentences": [{"raw": "a terminal ."}]}',
    ]
    text = '{"images": [\n' + ",\n".join(entries) + '\n], "dataset": "rsicd"}\n'
    return _write(root / "RSICD" / "dataset_rsicd.json", text)


def test_karpathy_rsicd_with_its_bad_entries(tmp_path: Path) -> None:
    annotations = rsicd(tmp_path)
    images = tmp_path / "RSICD" / "RSICD_images"
    got = _fetch(_source(format="karpathy", images=str(images), annotations=str(annotations)), tmp_path)
    name = str(annotations)
    assert _statuses(got) == {
        "airport_1.jpg": "ok",
        "beach_2.jpg": "ok",
        f"{name}:4": "invalid_row",
        f"{name}:5": "invalid_row",
        "missing_4.jpg": "missing_image",
        "../../secret/key.jpg": "outside_root",
        "bridge_3.jpg": "no_annotation",  # its entry is the broken line 4: both recorded
        "stray_9.jpg": "no_annotation",
    }
    airport = got["airport_1.jpg"]
    assert airport.content == (images / "airport_1.jpg").read_bytes() and airport.labels == []
    assert airport.ref_captions == [
        "many planes are parked near a terminal .",
        "an airport with a runway",
        "a terminal .",
    ]
    assert airport.extra["split"] == "train" and airport.extra["splits"] == ["train", "test"]
    assert airport.extra["entries"] == 2 and airport.extra["imgid"] == 0
    assert airport.extra["annotation_errors"] == [f"{name}:2: sentence 3 has no raw text or tokens"]
    assert got["beach_2.jpg"].extra == {"split": "test", "imgid": 1}
    assert "not JSON" in got[f"{name}:4"].error and "without a filename" in got[f"{name}:5"].error
    missing = got["missing_4.jpg"]
    assert (
        missing.content is None and missing.ref_captions == ["a river ."] and missing.extra["split"] == "val"
    )
    assert got["../../secret/key.jpg"].content is None  # refused on the text, never read
    assert got["stray_9.jpg"].content is None and got["stray_9.jpg"].error.startswith("no annotation")


def test_karpathy_finds_dataset_json_and_joins_filepath(tmp_path: Path) -> None:
    """UCM-captions: `dataset.json` next to `imgs/` is found from `path`; a COCO-style `filepath` is the
    subfolder of the file name, so equal file names in two folders are two images."""
    root = tmp_path / "UCM_captions"
    _write(root / "imgs" / "1.tif", texture(1, "TIFF"))
    _write(root / "imgs" / "val" / "1.tif", texture(2, "TIFF"))
    _write(
        root / "dataset.json",
        '{"images": [{"filename": "1.tif", "split": "train", "sentences": [{"raw": "dense houses"}]},'
        ' {"filepath": "val", "filename": "1.tif", "sentences": [{"raw": "two tennis courts"}]}]}',
    )
    got = _fetch(_source(format="karpathy", path=str(root), images=str(root / "imgs")), tmp_path)
    assert _statuses(got) == {"1.tif": "ok", "val/1.tif": "ok"}
    assert got["1.tif"].ref_captions == ["dense houses"] and got["1.tif"].extra["split"] == "train"
    assert got["val/1.tif"].ref_captions == ["two tennis courts"] and "split" not in got["val/1.tif"].extra


@pytest.mark.parametrize("chunk", [7, 64, CHUNK])
def test_json_list_entries_stream_and_resynchronise(tmp_path: Path, chunk: int) -> None:
    """Entries are read one at a time whatever the window: a member before the list is skipped, brackets
    inside strings do not end an entry, a malformed entry costs itself (named by line), a missing comma
    nothing, and an entry or number longer than the window is read whole."""
    long = "x" * 300
    text = (
        '{\n  "dataset": "rsicd",\n  "images": [\n'
        '    {"filename": "a.jpg", "n": 1},\n'
        '    {"filename": "b.jpg", "text": "a \\"quoted\\" ] } , string"},\n'
        '    {"filename": "c.jpg" "n": 3},\n'
        f'    {{"filename": "d.jpg", "long": "{long}"}},\n'
        '    {"filename": "e.jpg", "n": 5}\n'
        '    {"filename": "f.jpg", "n": 6},\n'
        "    12345678901234,\n"
        '    {"filename": "g.jpg", "n": 7}\n  ]\n}\n'
    )
    plain = _write(tmp_path / "dataset.json", text)
    packed = tmp_path / "dataset.json.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for path in (plain, packed):
        got = list(list_entries(str(path), "images", chunk=chunk))
        assert [
            g if isinstance(g, BadRow) else (g[0], g[1] if isinstance(g[1], int) else g[1]["filename"])
            for g in got
        ] == [
            (4, "a.jpg"),
            (5, "b.jpg"),
            BadRow(str(path), 6, "not JSON (Expecting ',' delimiter)"),
            (7, "d.jpg"),
            (8, "e.jpg"),
            (9, "f.jpg"),
            (10, 12345678901234),
            (11, "g.jpg"),
        ]
        assert got[3][1]["long"] == long


def test_json_files_that_hold_no_list_or_end_early(tmp_path: Path) -> None:
    def entries(text: str) -> list[Any]:
        return list(list_entries(str(_write(tmp_path / "a.json", text)), "images", chunk=16))

    name = str(tmp_path / "a.json")
    assert entries('{"images": [{"filename": "a.jpg"},\n {"filename": "b.j') == [
        (1, {"filename": "a.jpg"}),
        BadRow(name, 2, "not JSON (Unterminated string starting at); the file ends here"),
    ]
    assert entries("[1, 2]") == [BadRow(name, 1, "not a JSON object holding 'images'")]
    assert entries('{"other": [],\n "more": {"a": 1}}') == [BadRow(name, 2, "no 'images' list in the file")]
    assert entries('{"images": {"a": 1}}') == [BadRow(name, 1, "'images' is not a list")]
    assert entries('{"images": [{"a": 1}') == [
        (1, {"a": 1}),
        BadRow(name, 1, "the file ends inside the 'images' list"),
    ]
    assert entries("") == [BadRow(name, 1, "not a JSON object holding 'images'")]


def skyscript(root: Path) -> Path:
    """SkyScript as shipped: `images2/...jpg`, `meta2/...pickle`, and the caption CSVs with `filepath`,
    `title`, `title_multi_objects`; rows of one image apart, an absolute path inside the folder, bad rows."""
    base = root / "SkyScript"
    for seed, name in enumerate(["a1_CH_19.jpg", "a2_CH_19.jpg", "a3_NAIP_20.jpg"], 1):
        _write(base / "images2" / name, texture(seed))
    _write(base / "meta2" / "a1_CH_19.pickle", b"\x80\x04N.")
    _write(
        base / "SkyScript_train_top30pct.csv",
        "filepath,title,title_multi_objects\n"
        "images2/a1_CH_19.jpg,a golf course,a golf course next to a road\n"
        "images2/a2_CH_19.jpg,a parking lot,\n"
        "images2/bad.jpg,x,y,z\n"
        f"{base}/images2/a2_CH_19.jpg,a car park,\n"
        ",a caption of no image,\n"
        "/elsewhere/x.jpg,outside,\n"
        "images2/a1_CH_19.jpg,a golf course,\n",
    )
    _write(
        base / "SkyScript_val_5K_filtered_by_CLIP_openai.csv",
        'filepath,title,title_multi_objects,lat,lon\nimages2/gone.jpg,"a lake, frozen",,46.5,7.5\n',
    )
    return base


def test_captions_csv_skyscript(tmp_path: Path) -> None:
    base = skyscript(tmp_path)
    source = _source(
        format="captions_csv",
        path=str(base),
        annotations="SkyScript_*.csv",
        caption_column=["title", "title_multi_objects"],
    )
    got = _fetch(source, tmp_path)
    train = str(base / "SkyScript_train_top30pct.csv")
    assert _statuses(got) == {
        f"{train}:4": "invalid_row",
        f"{train}:5": "invalid_row",
        "images2/a1_CH_19.jpg": "ok",
        "images2/a2_CH_19.jpg": "ok",
        "/elsewhere/x.jpg": "outside_root",
        "images2/gone.jpg": "missing_image",
        "images2/a3_NAIP_20.jpg": "no_annotation",  # the pickle beside the images is no image: no row
    }
    assert "4 cells, the header has 3" in got[f"{train}:4"].error
    assert "data row 5 has no 'filepath'" in got[f"{train}:5"].error
    golf, parking = got["images2/a1_CH_19.jpg"], got["images2/a2_CH_19.jpg"]
    assert golf.ref_captions == ["a golf course", "a golf course next to a road"] and golf.labels == []
    assert golf.extra == {"split": "train", "entries": 2}
    assert parking.ref_captions == ["a parking lot", "a car park"] and parking.content
    gone = got["images2/gone.jpg"]
    assert gone.ref_captions == ["a lake, frozen"] and gone.extra["split"] == "val" and gone.lon == 7.5


def test_captions_csv_column_names_are_checked(tmp_path: Path) -> None:
    base = skyscript(tmp_path)
    source = _source(format="captions_csv", path=str(base), annotations="SkyScript_train_top30pct.csv")
    assert _fetch(source, tmp_path)["images2/a1_CH_19.jpg"].ref_captions == ["a golf course"]  # `title`
    wrong = _source(format="captions_csv", path=str(base), annotations="*.csv", caption_column="caption")
    with pytest.raises(
        ValueError, match=r"SkyScript_train_top30pct.csv: no column 'caption' \(it has 'filepath'"
    ):
        _fetch(wrong, tmp_path)
    with pytest.raises(ValueError, match="captions_csv needs `annotations:`"):
        _fetch(_source(format="captions_csv", path=str(base)), tmp_path)
    with pytest.raises(SourcesConfigError, match="caption_column"):
        _source(format="captions_csv", path=str(base), annotations="a.csv", caption_column=3)


def _json(path: Path, key: str, entries: list[dict[str, Any]]) -> None:
    _write(path, json.dumps({key: entries}, indent=1))


def rsvqa_lr(root: Path) -> Path:
    """RSVQA-LR as on Zenodo: `Images_LR/{id}.tif` and `LR_split_<split>_{questions,answers,images}.json`,
    each listing the whole dataset with `active` marking the split's entries."""
    base = root / "RSVQA_LR"
    for image in range(4):
        _write(base / "Images_LR" / f"{image}.tif", texture(image, "TIFF"))
    questions = [
        {"id": 0, "img_id": 0, "type": "presence", "question": "Is there a road?", "answers_ids": [0]},
        {
            "id": 1,
            "img_id": 0,
            "type": "count",
            "question": "How many buildings are there?",
            "answers_ids": [1],
        },
        {
            "id": 2,
            "img_id": 1,
            "type": "rural_urban",
            "question": "Is it a rural or an urban area?",
            "answers_ids": [2],
        },
        {"id": 3, "img_id": 5, "type": "presence", "question": "Is there water?", "answers_ids": [3]},
        {
            "id": 4,
            "img_id": 0,
            "type": "comp",
            "question": "Are there more roads than farms?",
            "answers_ids": [9],
        },
        {"id": 5, "type": "presence", "question": "Is there a lake?", "answers_ids": [4]},
    ]
    answers = [  # question 4 names answer 9, which no entry is: it has no answer
        {"id": 0, "question_id": 0, "answer": "yes"},
        {"id": 1, "question_id": 1, "answer": "12"},
        {"id": 2, "question_id": 2, "answer": "urban"},
        {"id": 3, "question_id": 3, "answer": "no"},
        {"id": 4, "question_id": 5, "answer": "no"},
    ]
    in_test = {2}
    for split, active in (("train", lambda i: i not in in_test), ("test", lambda i: i in in_test)):
        _json(
            base / f"LR_split_{split}_questions.json",
            "questions",
            [{**q, "active": active(q["id"])} for q in questions],
        )
        _json(
            base / f"LR_split_{split}_answers.json",
            "answers",
            [{**a, "active": active(a["id"])} for a in answers],
        )
    _json(
        base / "LR_split_train_images.json",
        "images",
        [
            {"id": 0, "original_name": "tile_0", "active": True, "questions_ids": [0, 1, 4]},
            {"id": 1, "active": False},
        ],
    )
    return base


def test_rsvqa_lr(tmp_path: Path) -> None:
    base = rsvqa_lr(tmp_path)
    got = _fetch(_source(format="rsvqa", path=str(base)), tmp_path)
    questions = str(base / "LR_split_train_questions.json")
    text = (base / "LR_split_train_questions.json").read_text().split("\n")
    starts = [number for number, line in enumerate(text, 1) if line == "  {"]  # where each entry begins
    assert _statuses(got) == {
        f"{questions}:{starts[5]}": "invalid_row",
        "Images_LR/0.tif": "ok",
        "Images_LR/5.tif": "missing_image",
        "Images_LR/1.tif": "ok",
        "Images_LR/2.tif": "no_annotation",
        "Images_LR/3.tif": "no_annotation",
    }
    assert "question 5 has no img_id" in got[f"{questions}:{starts[5]}"].error
    first = got["Images_LR/0.tif"]
    assert first.ref_qa == [
        {"question": "Is there a road?", "answer": "yes", "type": "presence"},
        {"question": "How many buildings are there?", "answer": "12", "type": "count"},
    ]
    assert first.extra["split"] == "train" and first.extra["original_name"] == "tile_0" and first.labels == []
    assert first.extra["annotation_errors"] == [f"{questions}:{starts[4]}: question 4 has no active answer"]
    assert got["Images_LR/1.tif"].ref_qa == [
        {"question": "Is it a rural or an urban area?", "answer": "urban", "type": "rural_urban"}
    ]
    assert got["Images_LR/1.tif"].extra == {"split": "test"}
    assert got["Images_LR/5.tif"].ref_qa[0]["question"] == "Is there water?"


def test_karpathy_on_s3(s3_env: str, tmp_path: Path) -> None:
    """The same RSICD layout in a bucket: one listing, the JSON streamed from S3, the same rows."""
    annotations = rsicd(tmp_path)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="rsicd-set")
    for file in (tmp_path / "RSICD").rglob("*"):
        if file.is_file():
            s3.put_object(
                Bucket="rsicd-set", Key=file.relative_to(tmp_path).as_posix(), Body=file.read_bytes()
            )
    url = "s3://rsicd-set/RSICD/dataset_rsicd.json"
    got = _fetch(
        _source(format="karpathy", images="s3://rsicd-set/RSICD/RSICD_images", annotations=url), tmp_path
    )
    local = _fetch(
        _source(
            format="karpathy", images=str(annotations.parent / "RSICD_images"), annotations=str(annotations)
        ),
        tmp_path,
    )
    assert _statuses(got) == {k.replace(str(annotations), url): v for k, v in _statuses(local).items()}
    assert got["airport_1.jpg"].ref_captions == local["airport_1.jpg"].ref_captions
    assert got["airport_1.jpg"].content == local["airport_1.jpg"].content


def rsvqa_hr(root: Path) -> Path:
    """RSVQA-HR: `Data/{id}.tif` and the Philadelphia test set's files (`USGS_split_test_phili_*`)."""
    base = root / "RSVQA_HR"
    for image in (10, 11):
        _write(base / "Data" / f"{image}.tif", texture(image, "TIFF", size=128))
    questions = [
        {"id": 0, "img_id": 10, "type": "presence", "question": "Is there a building?", "answers_ids": [0]},
        {
            "id": 1,
            "img_id": 10,
            "type": "area",
            "question": "What is the area covered by roads?",
            "answers_ids": [1],
        },
    ]
    answers = [{"id": 0, "question_id": 0, "answer": "yes"}, {"id": 1, "question_id": 1, "answer": "0m2"}]
    _json(
        base / "USGS_split_test_phili_questions.json", "questions", [{**q, "active": True} for q in questions]
    )
    _json(base / "USGS_split_test_phili_answers.json", "answers", [{**a, "active": True} for a in answers])
    return base


@dataclass
class Datasets:
    worker: MaterializeWorker
    home: Path

    def run(self, source: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """Materialise `source|2017` (every check passing); its raw rows and pool rows by record."""
        answer = self.worker.run(f"{source}|2017")
        assert answer["success"], answer["failures"]
        assert {k: v for k, v in answer["checks"].items() if not v} == {}
        assert {"raw_scrape:unique_keys", "filtered_pool:reconciliation"} <= set(answer["checks"])
        lake = Lake(str(self.home / "lake"))
        raw = lake.read_table(table_key("raw_scrape", source, 2017)).to_pylist()
        pool = lake.read_table(table_key("filtered_pool", source, 2017)).to_pylist()
        return raw, {r["record_id"]: r for r in pool}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Datasets]:
    tmp = tmp_path_factory.mktemp("legacy")
    images, skyscript_root = rsicd(tmp).parent / "RSICD_images", skyscript(tmp)
    sources = {
        "rsicd": {
            "format": "karpathy",
            "images": str(images),
            "annotations": str(images.parent / "dataset_rsicd.json"),
        },
        "skyscript": {
            "format": "captions_csv",
            "path": str(skyscript_root),
            "annotations": "SkyScript_train_*.csv",
        },
        "rsvqa_hr": {"format": "rsvqa", "path": str(rsvqa_hr(tmp))},
    }
    common = {"kind": "labeled", "default_year": 2017}
    path = _write(
        tmp / "sources.yaml", json.dumps({"sources": {k: {**common, **v} for k, v in sources.items()}})
    )
    worker = MaterializeWorker(path, tmp / "home")
    try:
        yield Datasets(worker, tmp / "home")
    finally:
        worker.close()


LEGACY = ["legacy_caption", "legacy_vqa"]


def _conversations(rows: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    return {
        (r["record_id"], r["task"]): json.loads(r["conversations"])
        if r["conversations"]
        else r["skip_reason"]
        for r in rows
    }


@pytest.mark.xdist_group("formats_text")
def test_rsicd_through_dagster_to_legacy_captions(datasets: Datasets) -> None:
    raw, pool = datasets.run("rsicd")
    by_name = {r["native_id"]: r for r in raw}
    assert {n: r["status"] for n, r in by_name.items() if not n.endswith((":4", ":5"))} == {
        "airport_1.jpg": "ok",
        "beach_2.jpg": "ok",
        "missing_4.jpg": "missing_image",
        "../../secret/key.jpg": "outside_root",
        "bridge_3.jpg": "no_annotation",
        "stray_9.jpg": "no_annotation",
    }
    airport = by_name["airport_1.jpg"]
    assert json.loads(airport["extra"])["splits"] == ["train", "test"] and len(airport["ref_captions"]) == 3
    decisions = {
        r["native_id"]: (pool[r["record_id"]]["kept"], pool[r["record_id"]]["drop_reason"]) for r in raw
    }
    assert decisions["airport_1.jpg"] == (True, None)
    assert decisions["missing_4.jpg"] == decisions["stray_9.jpg"] == (False, "fetch_failed")
    kept = [r for r in raw if pool[r["record_id"]]["kept"]]
    rows = _conversations(build_instructions(kept, [], [*LEGACY, "brief_caption"]))
    caption = rows[(airport["record_id"], "legacy_caption")]
    assert caption[0]["from"] == "human" and caption[0]["value"].startswith("<image>\n")
    assert caption[1]["value"] in airport["ref_captions"]
    assert rows[(airport["record_id"], "legacy_vqa")] == "no_ref_qa"
    brief = rows[(airport["record_id"], "brief_caption")]  # no model captions: another dataset caption
    assert brief[1]["value"] in airport["ref_captions"] and brief[1]["value"] != caption[1]["value"]
    facts = rule_text(record_facts(airport))
    assert (
        'Captions from the source dataset: "many planes are parked near a terminal ."; "an airport' in facts
    )


@pytest.mark.xdist_group("formats_text")
def test_rsvqa_hr_through_dagster_to_legacy_vqa(datasets: Datasets) -> None:
    raw, pool = datasets.run("rsvqa_hr")
    by_name = {r["native_id"]: r for r in raw}
    assert {n: r["status"] for n, r in by_name.items()} == {
        "Data/10.tif": "ok",
        "Data/11.tif": "no_annotation",
    }
    tile = by_name["Data/10.tif"]
    assert json.loads(tile["extra"]) == {"split": "test_phili"} and (tile["width"], tile["height"]) == (
        128,
        128,
    )
    assert pool[tile["record_id"]]["kept"]
    rows = _conversations(build_instructions([tile], [], LEGACY))
    assert rows[(tile["record_id"], "legacy_vqa")] == [
        {"from": "human", "value": f"<image>\nIs there a building?\n{SHORT_ANSWER}"},
        {"from": "gpt", "value": "yes"},
        {"from": "human", "value": f"What is the area covered by roads?\n{SHORT_ANSWER}"},
        {"from": "gpt", "value": "0m2"},
    ]
    assert rows[(tile["record_id"], "legacy_caption")] == "no_ref_captions"
    facts = rule_text(record_facts(tile))
    assert "Questions answered by the source dataset: Is there a building? yes; What is the area" in facts


@pytest.mark.xdist_group("formats_text")
def test_skyscript_through_dagster(datasets: Datasets) -> None:
    raw, pool = datasets.run("skyscript")
    by_name = {r["native_id"]: r for r in raw if not r["native_id"].endswith((":4", ":5"))}
    assert {n: r["status"] for n, r in by_name.items()} == {
        "images2/a1_CH_19.jpg": "ok",
        "images2/a2_CH_19.jpg": "ok",
        "/elsewhere/x.jpg": "outside_root",
        "images2/a3_NAIP_20.jpg": "no_annotation",
    }
    golf = by_name["images2/a1_CH_19.jpg"]
    assert golf["ref_captions"] == ["a golf course"] and pool[golf["record_id"]]["kept"]
    (row,) = build_instructions([golf], [], ["legacy_caption"])
    assert json.loads(row["conversations"])[1]["value"] == "a golf course" and row["status"] == "ok"


def test_rsvqa_chosen_files_and_a_split_without_answers(tmp_path: Path) -> None:
    """`annotations` picks the splits read (the other images are `no_annotation`); a questions file
    whose answers file is absent is one row naming that file, the other splits are read."""
    base = rsvqa_lr(tmp_path)
    only_test = _source(format="rsvqa", path=str(base), annotations="LR_split_test_questions.json")
    assert _statuses(_fetch(only_test, tmp_path)) == {
        "Images_LR/1.tif": "ok",
        **{f"Images_LR/{i}.tif": "no_annotation" for i in (0, 2, 3)},
    }
    (base / "LR_split_val_questions.json").write_text('{"questions": []}')
    got = _fetch(_source(format="rsvqa", path=str(base), annotations=str(base)), tmp_path)
    missing = got[f"{base}/LR_split_val_answers.json:0"]
    assert missing.status == "invalid_row" and "have no answers" in missing.error
    assert got["Images_LR/0.tif"].status == got["Images_LR/1.tif"].status == "ok"
