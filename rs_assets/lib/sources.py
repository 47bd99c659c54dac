"""Sources YAML: load and validate at definition load (DESIGN 4).

Errors name the source and the field, e.g. `sources.yaml: source 'ucm': field 'path': Field required`.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from rs_assets.lib.captions.strategies import CaptionStrategy
from rs_assets.lib.imaging import DEFAULT_MAX_PIXELS
from rs_assets.lib.instruction_sets.tasks import TASKS, InstructionTask
from rs_assets.lib.partitions import year_range
from rs_assets.lib.raw_scrape.formats import LabeledFormat
from rs_assets.lib.raw_scrape.formats.classes import ClassList

SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FILE_BYTES = 1_000_000  # a sources file is a few KB; PyYAML parses ~0.25 MB/s, so at most ~4 s
MAX_DEPTH = 20  # sources > name > field > list > item is 5; PyYAML's composer recurses once per level
_NO_ALIASES = (
    "YAML anchors, aliases and merge keys are not supported: a sources file has no need for them, "
    "and expanding them can take unbounded time and memory; write each value out"
)


class SourcesConfigError(ValueError):
    """A sources file that cannot be used; the message names the file, source and field."""


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


class _Base(BaseModel):
    # strict: `workers: yes` is not 1 and `per_year: "40"` not 40; finite: `timeout_s: .inf` never ends.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    captions: list[CaptionStrategy] = ["meta", "gaia"]
    instructions: list[InstructionTask] = list(TASKS)
    default_year: int | None = None
    allow_private_network: bool = False
    priority: int = Field(100, description="lower wins when choosing a cluster's canonical image")
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


class SyntheticSource(_Base):
    kind: Literal["synthetic"]
    years: Annotated[list[int], AfterValidator(_unique)] = Field(min_length=1)
    per_year: int = Field(ge=1, le=100_000)
    seed: int = 0


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
    path: str | None = Field(
        None, description="the dataset folder (local or s3://); image paths are relative to `images`, else it"
    )
    images: str | None = Field(None, description="folder of the images, where the dataset keeps them apart")
    annotations: str | None = Field(None, description="annotation folder or file of the format")
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
    sensor: str | None = None
    gsd_m: float | None = Field(None, gt=0, description="ground sampling distance in metres")
    max_bytes: int = Field(200_000_000, ge=1, description="bigger files are too_large, never read")


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
        if src.kind == "labeled" and not (src.path or src.images):
            raise SourcesConfigError(f"{file}: source {name!r}: field 'path': path or images is required")
        problem = _year_problem(src, years) if years is not None else None
        if problem:
            raise SourcesConfigError(f"{file}: source {name!r}: {problem}")
    return dict(sorted(out.items()))


def _repeated(path: tuple[str, ...], key: Any) -> str:
    """What a repeated key is, in the words of the other errors (source, field)."""
    if path == ("sources",):
        return f"source {key!r} is defined twice"
    if len(path) >= 2 and path[0] == "sources":
        return f"source {path[1]!r}: field {'.'.join((*path[2:], str(key)))!r} is given twice"
    return f"key {'.'.join((*path, str(key)))!r} is given twice"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader refusing what a sources file never needs and PyYAML gets wrong: anchors, aliases
    and merge keys (a "billion laughs" document expands exponentially), nesting deep enough to
    exhaust the stack, and repeated keys (PyYAML silently keeps the last one)."""

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self.file = file
        self.depth = 0

    def _refuse(self, mark: Any, problem: str) -> NoReturn:
        raise SourcesConfigError(f"{self.file}: line {mark.line + 1}: {problem}")

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            self._refuse(event.start_mark, _NO_ALIASES)
        if self.depth >= MAX_DEPTH:
            self._refuse(event.start_mark, f"nested deeper than {MAX_DEPTH} levels")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_document(self, node: Any) -> Any:
        self._check_keys(node, ())
        return super().construct_document(node)

    def _check_keys(self, node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._check_keys(item, (*path, str(i)))
        if not isinstance(node, yaml.MappingNode):
            return
        lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._refuse(key_node.start_mark, _NO_ALIASES)
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # the constructor refuses unhashable keys itself
            key, line = self.construct_object(key_node), key_node.start_mark.line + 1
            if key in lines:
                raise SourcesConfigError(
                    f"{self.file}: {_repeated(path, key)} (lines {lines[key]} and {line})"
                )
            lines[key] = line
            self._check_keys(value_node, (*path, str(key)))


def _read(path: Path) -> str:
    """The file's text; anything but a small readable UTF-8 file is refused before parsing."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise SourcesConfigError(f"{path}: sources file is a folder, not a file (RS_ASSETS_SOURCES)")
        if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
            raise SourcesConfigError(f"{path}: sources file is not a regular file (RS_ASSETS_SOURCES)")
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SourcesConfigError(f"{path}: sources file not found (RS_ASSETS_SOURCES)") from None
    except OSError as exc:
        raise SourcesConfigError(
            f"{path}: sources file cannot be read (RS_ASSETS_SOURCES): {exc.strerror}"
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise SourcesConfigError(
            f"{path}: sources file is larger than the {MAX_FILE_BYTES // 1_000_000} MB cap "
            f"({MAX_FILE_BYTES} bytes)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourcesConfigError(f"{path}: not UTF-8 text: {exc}") from None


def load_sources(path: Path, years: range | None = None) -> dict[str, Any]:
    """Read and validate a sources YAML file; `years` defaults to the configured year partitions."""
    loader = _StrictLoader(_read(path), file=str(path))
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise SourcesConfigError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return parse_sources(data, file=str(path), years=year_range() if years is None else years)


def applies_rs_filter(source: Any) -> bool:
    """Whether `not_remote_sensing` drops apply: the source's `rs_filter`, default only for pairs."""
    return source.rs_filter if source.rs_filter is not None else source.kind == "pairs"
