"""Sources YAML validation: every mistake is an error naming the source and the field."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rs_assets.defs.project import partitions_def
from rs_assets.lib.partitions import year_range
from rs_assets.lib.sources import SourcesConfigError, applies_rs_filter, load_sources, parse_sources


def test_bundled_demo_config_is_valid() -> None:
    sources = load_sources(Path(__file__).parents[1] / "rs_assets" / "sources.yaml")
    assert sources["demo_synthetic"].kind == "synthetic"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"kind": "ftp"}, "source 'src': field 'kind'"),
        ({"kind": "labeled"}, "source 'src': field 'path'"),
        ({"kind": "synthetic", "years": [2020]}, "source 'src': field 'per_year'"),
        ({"kind": "synthetic", "years": [2020], "per_year": 3, "colour": "red"}, "field 'colour'"),
        ({"kind": "pairs", "path": "x.parquet", "captions": ["gpt5"]}, "field 'captions.0'"),
        ({"kind": "web", "default_year": 2020}, "source 'src': field 'feed_url'"),
        ({"kind": "web", "feed_url": "https://h/f.rss"}, "source 'src': field 'default_year'"),
        ({"kind": "pairs", "path": "x.parquet", "date_column": "d"}, "source 'src': field 'default_year'"),
        ({"kind": "labeled", "path": "/d", "index": "i.csv"}, "source 'src': field 'default_year'"),
    ],
)
def test_bad_source_names_source_and_field(body: dict, needle: str) -> None:
    with pytest.raises(SourcesConfigError) as err:
        parse_sources({"sources": {"src": body}})
    assert needle in str(err.value)


@pytest.mark.parametrize("name", ["Bad", "9lives", "has-dash", "x" * 41])
def test_bad_source_name(name: str) -> None:
    with pytest.raises(SourcesConfigError, match="field 'name'"):
        parse_sources({"sources": {name: {"kind": "synthetic", "years": [2020], "per_year": 1}}})


def test_empty_or_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourcesConfigError, match="not found"):
        load_sources(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("sources: {}\n")
    with pytest.raises(SourcesConfigError, match="at least one source"):
        load_sources(tmp_path / "empty.yaml")


def test_rs_filter_defaults_to_pairs_only() -> None:
    sources = parse_sources(
        {
            "sources": {
                "p": {"kind": "pairs", "path": "x.parquet", "default_year": 2020},
                "l": {"kind": "labeled", "path": "/d", "default_year": 2010},
                "w": {"kind": "web", "feed_url": "https://h/f.rss", "rs_filter": True, "default_year": 2020},
            }
        }
    )
    assert [applies_rs_filter(sources[k]) for k in ("p", "l", "w")] == [True, False, True]


def test_definition_load_fails_with_the_named_error(tmp_path: Path) -> None:
    """A code location pointed at a bad file fails to load, and says which source and field."""
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  ucm:\n    kind: labeled\n    default_year: 2010\n")
    env = {**os.environ, "RS_ASSETS_SOURCES": str(bad)}
    out = subprocess.run(
        [sys.executable, "-c", "import rs_assets.definitions as d; d.defs()"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode != 0
    assert "source 'ucm': field 'path'" in out.stderr


YEARS = range(1990, 2027)
SYNTH = {"kind": "synthetic", "per_year": 1}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({**SYNTH, "years": [1989]}, "field 'years.0': 1989 is outside"),
        ({**SYNTH, "years": [2020, 2027]}, "field 'years.1': 2027 is outside"),
        ({**SYNTH, "years": [2020], "default_year": 1900}, "field 'default_year': 1900 is outside"),
        ({"kind": "web", "feed_url": "https://h/f.rss", "default_year": 3020}, "field 'default_year'"),
        ({"kind": "pairs", "path": "x.parquet", "default_year": 0}, "field 'default_year': 0 is outside"),
        ({"kind": "labeled", "path": "/d", "default_year": -2010}, "field 'default_year'"),
    ],
)
def test_years_outside_the_partitions_are_errors(body: dict, needle: str) -> None:
    with pytest.raises(SourcesConfigError) as err:
        parse_sources({"sources": {"src": body}}, years=YEARS)
    assert f"source 'src': {needle}" in str(err.value)
    assert "1990-2026" in str(err.value)


def test_years_at_the_partition_bounds_are_valid() -> None:
    sources = parse_sources(
        {
            "sources": {
                "s": {**SYNTH, "years": [1990, 2026]},
                "p": {"kind": "pairs", "path": "x", "default_year": 2026},
            }
        },
        years=YEARS,
    )
    assert sources["s"].years == [1990, 2026] and sources["p"].default_year == 2026


def test_synthetic_years_must_not_repeat() -> None:
    with pytest.raises(SourcesConfigError, match="field 'years': 2020 is listed twice"):
        parse_sources({"sources": {"s": {**SYNTH, "years": [2020, 2021, 2020]}}})


def test_load_sources_checks_the_configured_year_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RS_ASSETS_START_YEAR is the first year; the last is the current year (the newest partition)."""
    now = datetime.datetime.now(datetime.UTC).year
    cfg = tmp_path / "sources.yaml"
    monkeypatch.setenv("RS_ASSETS_START_YEAR", "2000")
    cfg.write_text(f"sources:\n  s:\n    kind: synthetic\n    per_year: 1\n    years: [2000, {now}]\n")
    assert load_sources(cfg)["s"].years == [2000, now]
    for bad in (1999, now + 1):
        cfg.write_text(f"sources:\n  s:\n    kind: synthetic\n    per_year: 1\n    years: [{bad}]\n")
        with pytest.raises(SourcesConfigError, match=f"field 'years.0': {bad} is outside .*2000-{now}"):
            load_sources(cfg)


@pytest.mark.parametrize("value", ["abc", "1990-05", "199"])
def test_bad_start_year_names_the_variable(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RS_ASSETS_START_YEAR", value)
    with pytest.raises(ValueError, match=f"RS_ASSETS_START_YEAR must be a four-digit year.*{value!r}"):
        year_range()


@pytest.mark.parametrize("ahead", [1, 3])
def test_start_year_after_the_current_year_names_the_variable(
    ahead: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dagster silently made a lone future year partition (ahead 1) or none at all (ahead 2+)."""
    monkeypatch.setenv("RS_ASSETS_START_YEAR", str(datetime.datetime.now(datetime.UTC).year + ahead))
    with pytest.raises(ValueError, match=r"RS_ASSETS_START_YEAR=\d{4} is after the current year"):
        year_range()


def test_year_range_is_the_year_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RS_ASSETS_START_YEAR", "2001")
    keys = partitions_def(["a"], "2001").get_partitions_def_for_dimension("year").get_partition_keys()
    assert [str(y) for y in year_range()] == keys


def test_duplicate_source_is_an_error(tmp_path: Path) -> None:
    """PyYAML lets the last key win: the first `ucm` would silently vanish."""
    cfg = tmp_path / "sources.yaml"
    cfg.write_text(
        "sources:\n  ucm:\n    kind: labeled\n    path: /a\n    default_year: 2010\n"
        "  other:\n    kind: synthetic\n    years: [2020]\n    per_year: 1\n"
        "  ucm:\n    kind: labeled\n    path: /b\n    default_year: 2011\n"
    )
    with pytest.raises(SourcesConfigError, match=rf"{cfg}: source 'ucm' is defined twice \(lines 2 and 10\)"):
        load_sources(cfg)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            "sources:\n  s:\n    kind: synthetic\n    per_year: 1\n    years: [2020]\n    per_year: 2\n",
            "source 's': field 'per_year' is given twice (lines 4 and 6)",
        ),
        (
            "sources:\n  s: {kind: synthetic, per_year: 1, years: [2020]}\n"
            "sources:\n  t: {kind: synthetic}\n",
            "key 'sources' is given twice (lines 1 and 3)",
        ),
    ],
)
def test_duplicate_keys_at_every_level(tmp_path: Path, text: str, needle: str) -> None:
    cfg = tmp_path / "sources.yaml"
    cfg.write_text(text)
    with pytest.raises(SourcesConfigError) as err:
        load_sources(cfg)
    assert f"{cfg}: {needle}" in str(err.value)


@pytest.mark.parametrize("pattern", ["(unclosed", "*.html", "[a-"])
def test_invalid_link_pattern_names_the_field(pattern: str) -> None:
    body = {"kind": "web", "feed_url": "https://h/f.rss", "default_year": 2020, "link_pattern": pattern}
    with pytest.raises(
        SourcesConfigError, match=r"source 'w': field 'link_pattern': .*not a valid regular expression"
    ):
        parse_sources({"sources": {"w": body}})


def test_valid_link_pattern_is_kept() -> None:
    body = {"kind": "web", "start_urls": ["https://h/"], "default_year": 2020, "link_pattern": r"/news/\d+"}
    assert parse_sources({"sources": {"w": body}})["w"].link_pattern == r"/news/\d+"


def test_sources_path_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(SourcesConfigError) as err:
        load_sources(tmp_path)
    assert str(err.value) == f"{tmp_path}: sources file is a folder, not a file (RS_ASSETS_SOURCES)"


def test_sources_path_that_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("sources: {}\n")
    bad = tmp_path / "a.yaml" / "sources.yaml"  # a file's "child": the OS refuses to open it
    with pytest.raises(
        SourcesConfigError, match=rf"^{bad}: sources file cannot be read \(RS_ASSETS_SOURCES\): "
    ):
        load_sources(bad)


def test_sources_path_that_is_a_fifo(tmp_path: Path) -> None:
    """Opening a FIFO without a writer blocks forever; it is refused before it is opened."""
    fifo = tmp_path / "sources.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SourcesConfigError) as err:
        load_sources(fifo)
    assert str(err.value) == f"{fifo}: sources file is not a regular file (RS_ASSETS_SOURCES)"


def test_sources_file_that_is_not_utf8(tmp_path: Path) -> None:
    cfg = tmp_path / "sources.yaml"
    cfg.write_bytes(b"sources:\n  s: {kind: synthetic, years: [2020], per_year: 1, user_agent: \xff\xfe}\n")
    with pytest.raises(SourcesConfigError, match=rf"^{cfg}: not UTF-8 text: "):
        load_sources(cfg)


BILLION_LAUGHS = "\n".join(
    ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    + [
        "sources:",
        "  lol:",
        "    kind: pairs",
        "    path: x",
        "    default_year: 2020",
        "    keywords: *a9",
        "",
    ]
)


@pytest.mark.parametrize(
    "text",
    [
        BILLION_LAUGHS,
        "sources:\n  s: &s {kind: synthetic, years: [2020], per_year: 1}\n  t: *s\n",
        "sources:\n  s:\n    <<: {kind: synthetic, years: [2020], per_year: 1}\n    per_year: 2\n",
    ],
    ids=["billion_laughs", "anchor", "merge_key"],
)
def test_anchors_aliases_and_merge_keys_are_refused_fast(tmp_path: Path, text: str) -> None:
    """9**10 strings once expanded: refused at the first anchor, never expanded."""
    cfg = tmp_path / "sources.yaml"
    cfg.write_text(text)
    start = time.perf_counter()
    with pytest.raises(SourcesConfigError) as err:
        load_sources(cfg)
    assert time.perf_counter() - start < 1.0
    assert str(err.value).startswith(f"{cfg}: line ")
    assert "anchors, aliases and merge keys are not supported" in str(err.value)


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    """PyYAML's composer recurses per level: 100k brackets raised RecursionError."""
    cfg = tmp_path / "sources.yaml"
    cfg.write_text("sources:\n  s:\n    kind: pairs\n    keywords: " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(SourcesConfigError, match=rf"^{cfg}: line 4: nested deeper than 20 levels"):
        load_sources(cfg)


def test_oversized_sources_file_is_refused_before_parsing(tmp_path: Path) -> None:
    """50 MB of valid YAML took PyYAML minutes to parse; the cap answers at once."""
    cfg = tmp_path / "sources.yaml"
    head = "sources:\n  big:\n    kind: pairs\n    path: x\n    default_year: 2020\n    keywords:\n"
    cfg.write_text(head + "      - satellite imagery\n" * (50_000_000 // 26))
    assert cfg.stat().st_size > 49_000_000
    start = time.perf_counter()
    with pytest.raises(SourcesConfigError) as err:
        load_sources(cfg)
    assert time.perf_counter() - start < 1.0
    assert str(err.value) == f"{cfg}: sources file is larger than the 1 MB cap (1000000 bytes)"


def test_ints_are_not_booleans_or_strings() -> None:
    """Lax pydantic read `workers: yes` as 1 and `per_year: "40"` as 40."""
    with pytest.raises(SourcesConfigError, match="field 'workers'"):
        parse_sources(
            {"sources": {"p": {"kind": "pairs", "path": "x", "default_year": 2020, "workers": True}}}
        )
    with pytest.raises(SourcesConfigError, match="field 'per_year'"):
        parse_sources({"sources": {"s": {**SYNTH, "years": [2020], "per_year": "40"}}})


MINIMAL = {
    "labeled": {"kind": "labeled", "path": "/d", "default_year": 2020},
    "pairs": {"kind": "pairs", "path": "x", "default_year": 2020},
    "web": {"kind": "web", "feed_url": "https://h/f.rss", "default_year": 2020},
}


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("labeled", "gsd_m", 0.0),
        ("labeled", "gsd_m", -0.3),
        ("labeled", "gsd_m", float("nan")),
        ("pairs", "timeout_s", float("inf")),
        ("pairs", "requests_per_second", float("inf")),
        ("web", "max_aspect", float("inf")),
    ],
)
def test_numbers_that_make_no_sense(kind: str, field: str, value: float) -> None:
    with pytest.raises(SourcesConfigError, match=f"source 's': field '{field}'"):
        parse_sources({"sources": {"s": {**MINIMAL[kind], field: value}}})
