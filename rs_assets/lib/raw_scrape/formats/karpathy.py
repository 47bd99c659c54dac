"""`format: karpathy`: the caption JSON of RSICD, UCM-captions, Sydney-captions and RSITMD.

Karpathy's layout, as these datasets ship it (`dataset_rsicd.json`, `dataset.json`, `dataset_RSITMD.json`):
`{"images": [{"filename", "filepath"?, "split", "imgid", "sentences": [{"raw", "tokens"}...]}...]}`.
One record per image file (`filepath/filename` under the image folder): `ref_captions` are the
sentences' raw text (tokens joined where `raw` is missing; the repeats RSICD uses to fill five sentences
dropped), the dataset's split in `extra.split`. `annotations` defaults to `dataset*.json` in `path`. An
entry that names no image is an `invalid_row` (file and line); a broken sentence inside an entry is
named in the image's `extra.annotation_errors`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rs_assets.lib.raw_scrape.connectors.files import BadRow, Row
from rs_assets.lib.raw_scrape.connectors.labeled import image_root
from rs_assets.lib.raw_scrape.formats.annotated import (
    Annotations,
    annotation_files,
    image_listing,
    split_from_name,
)
from rs_assets.lib.raw_scrape.formats.json_entries import list_entries


def sentence_text(sentence: Any) -> str | None:
    """A sentence's raw text, else its tokens joined; None when it has neither."""
    if not isinstance(sentence, dict):
        return None
    raw, tokens = sentence.get("raw"), sentence.get("tokens")
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    if isinstance(tokens, list) and tokens and all(isinstance(t, str) for t in tokens):
        return " ".join(tokens)
    return None


def image_entry(file: str, line: int, entry: Any) -> dict[str, Any] | BadRow:
    """The `Annotations.add` arguments of one `images` entry, or why it names no image."""
    if not isinstance(entry, dict):
        return BadRow(file, line, f"an images entry is not an object: {type(entry).__name__}")
    filename, filepath = entry.get("filename"), entry.get("filepath")
    if not isinstance(filename, str) or not filename.strip():
        return BadRow(file, line, "an images entry without a filename")
    sentences = entry.get("sentences")
    errors = [] if isinstance(sentences, list) else [f"{file}:{line}: `sentences` is not a list"]
    captions = []
    for i, sentence in enumerate(sentences if isinstance(sentences, list) else []):
        text = sentence_text(sentence)
        if text is None:
            errors.append(f"{file}:{line}: sentence {i} has no raw text or tokens")
        else:
            captions.append(text)
    split = entry.get("split")
    return {
        "path": f"{filepath.strip('/')}/{filename}" if isinstance(filepath, str) and filepath else filename,
        "split": split if isinstance(split, str) and split else split_from_name(file),
        "captions": captions,
        "cells": {k: entry[k] for k in ("imgid", "cocoid") if entry.get(k) is not None},
        "errors": errors,
    }


def rows(source: Any) -> Iterator[Row]:
    root = image_root(source)
    found = Annotations(root)
    for file in annotation_files(source, "dataset*.json"):
        for got in list_entries(file, "images"):
            image = got if isinstance(got, BadRow) else image_entry(file, *got)
            if isinstance(image, BadRow):
                yield image
            else:
                found.add(**image)
    yield from found.rows(image_listing(root))
