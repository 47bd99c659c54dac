"""`format: rsvqa`: RSVQA low and high resolution (Lobry et al. 2020) as published on Zenodo.

Per split, three JSON files named `<prefix>_questions.json`, `<prefix>_answers.json` and
`<prefix>_images.json` (`LR_split_train_*`, `USGS_split_test_phili_*`), each `{"questions": [...]}` etc.
listing the whole dataset with `active` marking the entries of that split. A question has `id`,
`img_id`, `type`, `question`, `answers_ids`; an answer `id`, `question_id`, `answer`; an image `id`,
`original_name`, `questions_ids`. The images are `{id}.tif` in `Images_LR` (LR) or `Data` (HR) under
`path`, or in `images` when set. One record per image: `ref_qa` its active questions with their answer
and type, in file order, the split from the file name (`train`, `val`, `test`, `test_phili`) in
`extra.split`. `annotations` (a folder, a `*_questions.json` file or a glob) defaults to `path`. Inactive
entries belong to another split and are skipped; an entry that cannot be linked is an `invalid_row`
(file and line), a question without an active answer is named in the image's `extra.annotation_errors`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from rs_assets.lib.lake import filesystem
from rs_assets.lib.raw_scrape.connectors.files import BadRow, Row
from rs_assets.lib.raw_scrape.connectors.labeled import image_root
from rs_assets.lib.raw_scrape.formats.annotated import (
    Annotations,
    annotation_files,
    image_listing,
    local_path,
    split_from_name,
)
from rs_assets.lib.raw_scrape.formats.json_entries import list_entries

IMAGE_FOLDERS = ("Images_LR", "Data", "Images_HR", "Images")  # LR and HR archives, then common renames
SUFFIX = "_questions.json"
Grouped = dict[str, tuple[list[dict[str, Any]], list[str]]]  # image id -> (QA, annotation errors)


def image_folder(source: Any) -> str:
    """Where `{id}.tif` lives, relative to the image root: the root itself when `images` is set, else
    the first of IMAGE_FOLDERS under `path` (else `path` itself)."""
    if source.images:
        return ""
    root = local_path(source.path).rstrip("/")
    fs = filesystem(root)
    return next((name for name in IMAGE_FOLDERS if fs.isdir(f"{root}/{name}")), "")


def split_of(prefix: str) -> str | None:
    """`LR_split_train` -> `train`, `USGS_split_test_phili` -> `test_phili`."""
    name = posixpath.basename(prefix)
    return name.split("_split_", 1)[1] if "_split_" in name else split_from_name(name)


def _active(entry: dict[str, Any]) -> bool:
    return entry.get("active", True) is not False


def _id(value: Any) -> int | str | None:
    """An id usable as a key (JSON ids are numbers; anything else links nothing)."""
    return value if isinstance(value, int | str) else None


def _objects(file: str, key: str, bad: list[BadRow]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The active entries of `file`'s `key` list; what is no object goes to `bad`."""
    for got in list_entries(file, key):
        if isinstance(got, BadRow):
            bad.append(got)
        elif not isinstance(got[1], dict):
            bad.append(BadRow(file, got[0], f"a {key} entry is not an object: {type(got[1]).__name__}"))
        elif _active(got[1]):
            yield got


def _answers(file: str, bad: list[BadRow]) -> tuple[dict[Any, str], dict[Any, str]]:
    """Active answers by their id and by their question's id."""
    by_id, by_question = {}, {}
    for line, entry in _objects(file, "answers", bad):
        if entry.get("answer") is None:
            bad.append(BadRow(file, line, f"answer {entry.get('id')} has no `answer`"))
            continue
        by_id[_id(entry.get("id"))] = by_question[_id(entry.get("question_id"))] = str(entry["answer"])
    return by_id, by_question


def _questions(file: str, answers: tuple[dict[Any, str], dict[Any, str]], bad: list[BadRow]) -> Grouped:
    by_id, by_question = answers
    grouped: Grouped = {}
    for line, q in _objects(file, "questions", bad):
        image, text = q.get("img_id"), q.get("question")
        if image is None or not isinstance(text, str):
            bad.append(BadRow(file, line, f"question {q.get('id')} has no img_id or no question text"))
            continue
        qa, errors = grouped.setdefault(str(image), ([], []))
        ids = q.get("answers_ids") if isinstance(q.get("answers_ids"), list) else []
        linked = [by_id[i] for i in map(_id, ids) if i is not None and i in by_id]
        answer = linked[0] if linked else by_question.get(_id(q.get("id")))
        if answer is None:
            errors.append(f"{file}:{line}: question {q.get('id')} has no active answer")
        else:
            kind = q.get("type")
            qa.append({"question": text, "answer": answer, "type": None if kind is None else str(kind)})
    return grouped


def _images(file: str, grouped: Grouped, bad: list[BadRow]) -> dict[str, dict[str, Any]]:
    """Cells of the split's active images (`original_name`); an image without questions still gets
    its record. The images file is optional: the questions name their images."""
    cells = {}
    try:
        for _, entry in _objects(file, "images", bad):
            image = str(entry.get("id"))
            grouped.setdefault(image, ([], []))
            cells[image] = {k: entry[k] for k in ("original_name",) if entry.get(k) is not None}
    except FileNotFoundError:
        pass
    return cells


def rows(source: Any) -> Iterator[Row]:
    root, folder = image_root(source), image_folder(source)
    listing = image_listing(root, folder)
    tif_first = sorted(listing, key=lambda rel: PurePosixPath(rel).suffix.lower() not in (".tif", ".tiff"))
    by_stem: dict[str, str] = {}
    for rel in tif_first:
        by_stem.setdefault(PurePosixPath(rel).stem, rel)
    found = Annotations(root)
    for questions in annotation_files(source, f"*{SUFFIX}"):
        prefix, bad = questions.removesuffix(SUFFIX), []
        try:
            answers = _answers(f"{prefix}_answers.json", bad)
        except FileNotFoundError:
            yield BadRow(
                f"{prefix}_answers.json", 0, f"missing: the questions of {questions} have no answers"
            )
            continue
        grouped = _questions(questions, answers, bad)
        cells = _images(f"{prefix}_images.json", grouped, bad)
        yield from bad
        for image, (qa, errors) in grouped.items():
            path = by_stem.get(image) or posixpath.join(folder, f"{image}.tif")
            found.add(path, split=split_of(prefix), qa=qa, cells=cells.get(image), errors=errors)
    yield from found.rows(listing)
