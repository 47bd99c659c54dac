"""The release, loaded by the tools users train with (webdataset, HF datasets, pandas as open_clip's
CsvDataset reads it, LLaVA's loader logic, Karpathy-style retrieval code), from a real pipeline run."""

from __future__ import annotations

import json
import os
import tarfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from rs_assets.lib.release.formats.webdataset import shard_groups

pytestmark = pytest.mark.xdist_group("published")  # shares the session's `published` pipeline run


@pytest.fixture
def release(published: dict) -> dict:
    """The published release (HF libraries are offline: conftest sets HF_*_OFFLINE at import)."""
    assert os.environ["HF_DATASETS_OFFLINE"] == os.environ["HF_HUB_OFFLINE"] == "1"
    return published


def _card_header(folder: Path) -> dict:
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_load_dataset_on_the_release_folder_finds_the_splits_and_only_hf(release: dict) -> None:
    import datasets

    folder: Path = release["dir"]
    ds = datasets.load_dataset(str(folder), cache_dir=str(release["home"] / "hf_cache"))
    assert set(ds) == {"train", "val", "test"}
    for split, part in ds.items():
        assert part.num_rows == pq.read_metadata(folder / "hf" / f"{split}.parquet").num_rows
    # not merged with webdataset/ metadata or excluded.parquet
    assert set(ds["train"].column_names) == {
        "sample_id", "image", "image_id", "caption_id", "strategy", "caption", "split", "source", "year"
    }  # fmt: skip
    assert ds["train"].num_rows > 0
    # the card's recipe turns the relative path into a decoded image
    root = str(folder)
    decoded = (
        ds["train"].map(lambda r: {"image": f"{root}/{r['image']}"}).cast_column("image", datasets.Image())
    )
    assert decoded[0]["image"].size[0] > 0
    header = _card_header(folder)
    assert header["license"] == "cc0-1.0" and "image-to-text" in header["task_categories"]


def test_webdataset_iterates_every_shard_with_unique_keys_and_decodes(release: dict) -> None:
    import webdataset as wds

    folder: Path = release["dir"] / "webdataset"
    shards = sorted(str(p) for p in folder.glob("*.tar"))
    sizes = json.loads((folder / "sizes.json").read_text())
    assert sorted(sizes) == sorted(Path(s).name for s in shards)
    for shard in shards:  # one image extension per shard
        with tarfile.open(shard) as tar:
            exts = {m.name.split(".", 1)[1] for m in tar.getmembers()} - {"txt", "json"}
        assert len(exts) == 1, (shard, exts)
    keys = []
    for sample in wds.WebDataset(shards, shardshuffle=False).decode("pil"):
        image = sample.get("jpg") or sample.get("png")
        assert isinstance(image, Image.Image) and image.size[0] > 0
        assert sample["json"]["sample_id"] == sample["__key__"]
        keys.append(sample["__key__"])
    assert len(keys) == len(set(keys)) == sum(sizes.values())
    for split in ("train", "val", "test"):  # enough shards for open_clip's workers
        n = sum(v for k, v in sizes.items() if k.startswith(split))
        assert sum(k.startswith(split) for k in sizes) >= min(4, n)


def test_hf_webdataset_builder_keeps_every_sample_per_extension(release: dict) -> None:
    """HF's builder types columns from the first shard: loaded one extension at a time (the card's
    recipe), no sample loses its image."""
    import datasets

    folder: Path = release["dir"]
    sizes = json.loads((folder / "webdataset" / "sizes.json").read_text())
    exts = {name.split("-")[1] for name in sizes}
    assert exts == {"jpg", "png"}
    card = (folder / "README.md").read_text()
    total = 0
    for ext in sorted(exts):
        files = {s: f"webdataset/{s}-{ext}-*.tar" for s in ("train", "val", "test") if f"{s}-{ext}-" in card}
        assert f'"train": "webdataset/train-{ext}-*.tar"' in card
        data_files = {s: str(folder / p) for s, p in files.items()}
        ds = datasets.load_dataset("webdataset", data_files=data_files, cache_dir=str(release["home"] / "hf"))
        for part in ds.values():
            assert part.num_rows and all(row[ext] is not None for row in part)
            total += part.num_rows
    assert total == sum(sizes.values())


def test_per_shard_parquet_concatenates_with_one_schema(release: dict) -> None:
    files = sorted((release["dir"] / "webdataset").glob("*.parquet"))
    tables = [pq.read_table(f) for f in files]
    assert len({t.schema for t in tables}) == 1
    assert pa.concat_tables(tables).num_rows == sum(t.num_rows for t in tables)
    assert tables[0].schema.field("credits").type == pa.string()


def test_open_clip_csv_reads_with_the_cards_flags_and_paths_resolve(release: dict) -> None:
    folder: Path = release["dir"]
    card = (folder / "README.md").read_text()
    assert "--csv-separator , --csv-img-key filepath --csv-caption-key caption" in " ".join(card.split())
    df = pd.read_csv(folder / "open_clip" / "train.csv", sep=",")  # open_clip's CsvDataset
    assert len(df) > 0 and df["caption"].map(len).min() > 0
    for path in df["filepath"].unique():
        Image.open(folder / path).verify()
    assert df["sample_id"].is_unique


def test_llava_json_loads_with_the_release_as_image_folder(release: dict) -> None:
    folder: Path = release["dir"]
    assert "as LLaVA's `--image_folder`" in (folder / "README.md").read_text()
    data = json.loads((folder / "llava" / "train.json").read_text())
    for item in data:  # LLaVA's LazySupervisedDataset.__getitem__
        Image.open(os.path.join(str(folder), item["image"])).convert("RGB")
        assert item["conversations"][0]["from"] == "human" and "<image>" in item["conversations"][0]["value"]
    assert len({d["sample_id"] for d in data}) == len(data)
    assert any(d["task"] == "brief_caption" and len(d["conversations"]) == 2 for d in data)


def test_karpathy_json_has_the_fields_retrieval_code_reads(release: dict) -> None:
    folder: Path = release["dir"]
    data = json.loads((folder / "karpathy" / "dataset_rs.json").read_text())
    sent_ids = []
    for i, img in enumerate(data["images"]):
        assert img["imgid"] == i and img["split"] in ("train", "val", "test")
        assert (folder / img["filepath"] / img["filename"]).is_file()
        assert img["sentids"] == [s["sentid"] for s in img["sentences"]]
        assert all(s["imgid"] == i and s["tokens"] and s["raw"] for s in img["sentences"])
        sent_ids += img["sentids"]
    assert sent_ids == list(range(len(sent_ids)))


def test_card_reports_the_real_split_shares(release: dict) -> None:
    folder: Path = release["dir"]
    card = (folder / "README.md").read_text()
    counts = Counter(
        img["split"] for img in json.loads((folder / "karpathy" / "dataset_rs.json").read_text())["images"]
    )
    total = sum(counts.values())
    for split in ("train", "val", "test"):
        assert f"| {split} | {counts[split]} | {100 * counts[split] / total:.0f}% |" in card
    assert "target shares apply to **split units**" in card


def test_shards_hold_one_extension_and_split_for_workers() -> None:
    rows = [{"image_id": f"{i:02d}", "image_ext": "png" if i % 3 == 0 else "jpg"} for i in range(10)]
    shards = shard_groups(rows, shard_size=1000, min_shards=4)
    assert all(len({s["image_ext"] for s in shard}) == 1 for shard in shards)
    assert len(shards) >= 4 and sorted(s["image_id"] for sh in shards for s in sh) == sorted(
        r["image_id"] for r in rows
    )
    assert max(len(s) for s in shard_groups(rows, shard_size=2, min_shards=1)) == 2
    assert shard_groups([], 10, 4) == []


def test_croissant_validates_and_loads_in_mlcroissant(release: dict) -> None:
    import mlcroissant as mlc

    folder: Path = release["dir"]
    doc = json.loads((folder / "croissant.json").read_text())
    for field in ("rai:dataCollection", "rai:dataBiases", "rai:personalSensitiveInformation"):
        assert doc[field], field
    assert "demo_synthetic: " in doc["rai:dataCollection"] and "cc0-1.0" in doc["rai:dataCollection"]
    dataset = mlc.Dataset(jsonld=str(folder / "croissant.json"))  # raises on validation errors
    captions = list(dataset.records(record_set="captions"))
    hf_rows = sum(pq.read_metadata(p).num_rows for p in (folder / "hf").glob("*.parquet"))
    assert len(captions) == hf_rows
    assert {c["captions/sample_id"].decode() for c in captions} == {
        s for p in (folder / "hf").glob("*.parquet") for s in pq.read_table(p)["sample_id"].to_pylist()
    }
    images = list(dataset.records(record_set="images"))
    assert len(images) == len(list((folder / "images").iterdir()))
    assert isinstance(images[0]["images/image"], Image.Image)
