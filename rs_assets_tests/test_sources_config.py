"""Sources YAML validation: every mistake is an error naming the source and the field."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
