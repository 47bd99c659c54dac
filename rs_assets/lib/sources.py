"""Sources YAML: load and validate at definition load (DESIGN 4).

Errors name the source and the field, e.g. `sources.yaml: source 'ucm': field 'path': Field required`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from rs_assets.lib.caption_scores.vocab import DEFAULT_BY, SIGNALS
from rs_assets.lib.captions.strategies import CaptionStrategy
from rs_assets.lib.imaging import DEFAULT_MAX_PIXELS
from rs_assets.lib.instruction_sets.mix import instruction_mix
from rs_assets.lib.instruction_sets.tasks import TASKS, InstructionTask
from rs_assets.lib.partitions import year_range
from rs_assets.lib.raw_scrape.formats import LabeledFormat
from rs_assets.lib.raw_scrape.formats.classes import ClassList
from rs_assets.lib.sources_yaml import SourcesConfigError, load_yaml

SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _unique(years: list[int]) -> list[int]:
    """A repeated year would run its partition twice."""
    repeated = next((y for i, y in enumerate(years) if y in years[:i]), None)
    if repeated is not None:
        raise ValueError(f"{repeated} is listed twice")
    return years


def _regex(pattern: str | None) -> str | None:
    """Compiled once here so a typo is a load error, not a failure in the middle of a crawl."""
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
    return pattern


def _signals(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in SIGNALS or n == "overall"]
    if unknown:
        raise ValueError(f"unknown signals {unknown}; one of {sorted(set(SIGNALS) - {'overall'})}")
    return names


class SelectPolicy(BaseModel):
    """Which captions of an image the release exports (caption_scores `overall` rows)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    top_k: int = Field(5, ge=1, description="captions exported per image, best overall score first")
    min_score: float = Field(
        0.5, ge=0, le=1, description="a `by` signal scoring below it (0-1) makes the caption low_score"
    )
    by: Annotated[list[str], AfterValidator(_signals)] = Field(
        list(DEFAULT_BY), description="signals whose 0-1 scores are averaged (skipped ones are left out)"
    )
    max_overlap: float = Field(0.8, ge=0, le=1, description="near_duplicate at or above it is duplicate")
    language: str = Field("en", description="expected ISO 639-1 language; another one is wrong_language")
    min_language_confidence: float = Field(
        0.5, ge=0, le=1, description="confidence the other language needs to be wrong_language"
    )


class _Base(BaseModel):
    # strict: `workers: yes` is not 1 and `per_year: "40"` not 40; finite: `timeout_s: .inf` never ends.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    captions: list[CaptionStrategy] = ["meta", "gaia"]
    instructions: Annotated[dict[InstructionTask, float], BeforeValidator(instruction_mix)] = Field(
        default_factory=lambda: dict.fromkeys(TASKS, 1.0),
        description="instruction tasks: a list (every image), or a mapping task -> share of images in (0, 1]",
    )
    instruction_backend: Literal["local", "llm"] = Field(
        "local",
        description="`llm`: the model tasks (detailed_description, reasoning, multi_turn) are rephrased by "
        "the RS_ASSETS_LLM backend from the facts and the image, checked against the record",
    )
    max_conversations_per_image: int | None = Field(
        None, ge=1, description="ok conversations kept per image (the rest are skipped image_cap); none: all"
    )
    default_year: int | None = None
    allow_private_network: bool = False
    priority: int = Field(100, description="lower wins when choosing a cluster's canonical image")
    license: str | None = Field(None, description="license of the source's images and text (SPDX id)")
    min_side: int = Field(64, ge=1, description="shorter side in px below which an image is too_small")
    max_aspect: float = Field(4.0, ge=1.0, description="long/short side ratio above which bad_aspect")
    min_words: int = Field(3, ge=0, description="text filter: more than 2 words (DataComp basic)")
    min_chars: int = Field(6, ge=0, description="text filter: more than 5 characters")
    rs_filter: bool | None = Field(None, description="apply not_remote_sensing; default True for pairs")
    rs_scorer: Literal["lexicon", "text_embedding", "clip"] = Field(
        "lexicon", description="RS relevance scorer; model scorers are optional extras, lexicon fallback"
    )
    max_pixels: int = Field(
        DEFAULT_MAX_PIXELS, ge=1, description="decompression-bomb guard, checked on the header"
    )
    role: Literal["data", "benchmark"] = Field(
        "data", description="benchmark: protected test images; nothing in their clusters enters train/val"
    )
    judge: bool = Field(False, description="rate candidate captions with the LLM judge (costs calls)")
    select: SelectPolicy = Field(default_factory=SelectPolicy, description="caption selection policy")


class SyntheticSource(_Base):
    kind: Literal["synthetic"]
    years: Annotated[list[int], AfterValidator(_unique)] = Field(min_length=1)
    per_year: int = Field(ge=1, le=100_000)
    seed: int = 0
    license: str | None = "cc0-1.0"  # generated here, no third-party rights


def _year_required(value: int | None) -> int:
    if value is None:
        raise ValueError("a record's year is its date, else default_year; set default_year")
    return value


# A web, pairs or labeled record without a date still belongs to a year partition: never dropped.
_RequiredYear = Annotated[
    int | None,
    Field(validate_default=True, description="year of records without a date (required)"),
    AfterValidator(_year_required),
]


class _HttpSource(_Base):
    """Politeness and safety knobs of the kinds that download over HTTP (see connectors/http.py)."""

    requests_per_second: float = Field(1.0, gt=0, description="per host, every request counted")
    max_concurrency: int = Field(4, ge=1, description="in-flight requests per host")
    workers: int = Field(8, ge=1, description="in-flight requests across all hosts (threads)")
    timeout_s: float = Field(20.0, gt=0, description="per request, from connect to the last byte")
    retries: int = Field(3, ge=0, description="extra attempts on timeouts, resets, 429, 5xx")
    max_bytes: int = Field(30_000_000, ge=1, description="per response; bigger answers are too_large")
    max_redirects: int = Field(5, ge=0, description="each hop passes the SSRF guard and robots.txt")
    user_agent: str = "rs_assets/0.1 (+https://github.com/rs-assets; dataset research crawler)"
    respect_noai: bool = Field(
        True, description="X-Robots-Tag / meta robots `noai` or `noimageai` -> robots_disallowed"
    )
    max_requests_per_run: int | None = Field(
        None,
        ge=1,
        description="HTTP requests sent per run (retries, redirects, robots.txt count); beyond it items "
        "are request_cap and requested next run; none: unbounded",
    )


class WebSource(_HttpSource):
    kind: Literal["web"]
    default_year: _RequiredYear = None
    feed_url: str | None = None
    sitemap_url: str | None = None
    start_urls: list[str] = []
    link_pattern: Annotated[str | None, AfterValidator(_regex)] = Field(
        None, description="regex an article URL on a start page must match"
    )
    max_items: int = Field(500, ge=1, description="articles discovered per run (before year filtering)")
    max_pages: int = Field(20, ge=1, description="listing pages / sitemaps followed (pagination)")
    max_images_per_item: int = Field(
        20, ge=1, description="content images requested per article; one item_image_cap row counts the rest"
    )
    max_requests_per_run: int | None = Field(10_000, ge=1)
    allow_empty: bool = Field(
        False, description="accept a discovery that finds no article (else the run fails, naming the URLs)"
    )

    @property
    def listing_urls(self) -> list[str]:
        """The configured feed, sitemap and start URLs (verbatim: they may carry credentials)."""
        return [u for u in (self.feed_url, self.sitemap_url, *self.start_urls) if u]


class PairsSource(_HttpSource):
    kind: Literal["pairs"]
    default_year: _RequiredYear = None
    path: str = Field(description="Parquet/CSV/JSONL file or glob, local or s3://")
    url_column: str = "url"
    text_column: str = "caption"
    id_column: str | None = Field(None, description="native id; default the canonical URL")
    date_column: str | None = None
    keyword_prefilter: bool = True
    keywords: list[str] | None = Field(
        None, description="prefilter terms (pool.lexicon_pattern rules); default: rs_text_score > 0"
    )
    requests_per_second: float = Field(50.0, gt=0)
    max_concurrency: int = Field(16, ge=1)
    workers: int = Field(32, ge=1)
    retries: int = Field(2, ge=0)


class LabeledSource(_Base):
    kind: Literal["labeled"]
    default_year: _RequiredYear = None
    format: LabeledFormat = Field("folders", description="dataset layout (raw_scrape/formats registry)")
    images: str | None = Field(None, description="folder of the images, where the dataset keeps them apart")
    annotations: str | None = Field(None, description="annotation folder or file of the format")
    path: str | None = Field(
        None,
        validate_default=True,
        description="the dataset folder (local or s3://); image paths are relative to `images`, else it",
    )
    classes: list[str] | ClassList | None = Field(
        None,
        description="the dataset's class names, a list or a documented one (dota, dior, fair1m): objects of "
        "other classes are counted in extra.unknown_classes; names COCO ids (1-based) without categories "
        "and YOLO indices (0-based); default: the format's documented list",
    )
    index: str | None = Field(
        None,
        description="CSV/Parquet with path, labels[, lat, lon, date, gsd_m, sensor, "
        "boxes]; relative to `path` unless absolute",
    )
    path_column: str = Field("filepath", description="captions_csv: the image path column (open_clip's)")
    caption_column: str | list[str] = Field(
        "title",
        description="captions_csv: the caption column, or several (SkyScript: title, title_multi_objects)",
    )
    sensor: str | None = None
    gsd_m: float | None = Field(None, gt=0, description="ground sampling distance in metres")
    max_bytes: int = Field(200_000_000, ge=1, description="bigger files are too_large, never read")

    @field_validator("path")
    @classmethod
    def _path_or_images(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and not info.data.get("images"):
            raise ValueError("path or images is required")
        return value


SourceConfig = Annotated[
    SyntheticSource | WebSource | PairsSource | LabeledSource, Field(discriminator="kind")
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(SourceConfig)


def _explain(file: str, name: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(x) for x in err["loc"]]
        if loc and loc[0] in ("synthetic", "web", "pairs", "labeled"):
            loc = loc[1:]  # drop the discriminator tag pydantic prefixes
        field = ".".join(loc) or "kind"
        parts.append(f"{file}: source {name!r}: field {field!r}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _year_problem(source: Any, years: range) -> str | None:
    """The first configured year without a partition: its records could never be materialised."""
    fields = [(f"years.{i}", y) for i, y in enumerate(getattr(source, "years", []))]
    if source.default_year is not None:
        fields.append(("default_year", source.default_year))
    return next(
        (
            f"field {field!r}: {year} is outside the year partitions {years[0]}-{years[-1]} "
            "(RS_ASSETS_START_YEAR to the current year)"
            for field, year in fields
            if year not in years
        ),
        None,
    )


def parse_sources(data: Any, file: str = "sources.yaml", years: range | None = None) -> dict[str, Any]:
    """Validate a parsed YAML document; returns {name: source config} sorted by name.

    `years`: the year partitions every configured year must fall in (`load_sources` passes the
    configured ones, `partitions.year_range()`); None skips that check.
    """
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict) or not data["sources"]:
        raise SourcesConfigError(f"{file}: expected a mapping 'sources:' with at least one source")
    out: dict[str, Any] = {}
    for name, body in data["sources"].items():
        if not isinstance(name, str) or not SOURCE_NAME.match(name):
            raise SourcesConfigError(
                f"{file}: source {name!r}: field 'name': must match {SOURCE_NAME.pattern}"
            )
        if not isinstance(body, dict):
            raise SourcesConfigError(f"{file}: source {name!r}: expected a mapping of fields")
        try:
            out[name] = _ADAPTER.validate_python(body)
        except ValidationError as exc:
            raise SourcesConfigError(_explain(file, name, exc)) from None
        src = out[name]
        if src.kind == "web" and not (src.feed_url or src.sitemap_url or src.start_urls):
            raise SourcesConfigError(
                f"{file}: source {name!r}: field 'feed_url': "
                "one of feed_url, sitemap_url, start_urls is required"
            )
        problem = _year_problem(src, years) if years is not None else None
        if problem:
            raise SourcesConfigError(f"{file}: source {name!r}: {problem}")
    return dict(sorted(out.items()))


def load_sources(path: Path, years: range | None = None) -> dict[str, Any]:
    """Read and validate a sources YAML file; `years` defaults to the configured year partitions."""
    data = load_yaml(path)
    return parse_sources(data, file=str(path), years=year_range() if years is None else years)


def applies_rs_filter(source: Any) -> bool:
    """Whether `not_remote_sensing` drops apply: the source's `rs_filter`, default only for pairs."""
    return source.rs_filter if source.rs_filter is not None else source.kind == "pairs"
