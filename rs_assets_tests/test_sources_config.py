"""Sources YAML validation: every mistake is an error naming the source and the field."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rs_assets.lib.partitions import partitions_def, year_range
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
    keys = partitions_def(["a"]).get_partitions_def_for_dimension("year").get_partition_keys()
    assert [str(y) for y in year_range()] == keys
