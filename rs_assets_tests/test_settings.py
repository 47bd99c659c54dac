"""Settings that cost money or decide where data goes: validated when the code location loads (naming
the variable), overridable per run as resources, and part of the captions files' fingerprint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from rs_assets.defs.resources import LLMResource, lake_from_env, llm_from_env
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.settings import ENV, LLMSettings, SettingsError
from rs_assets.lib.warehouse.catalog import build_catalog, connect

BAD = [
    ("RS_ASSETS_LLM_CONCURRENCY", "0", "must be >= 1"),  # used to hang the captions stage forever
    ("RS_ASSETS_LLM_CONCURRENCY", "many", "not a number"),
    ("RS_ASSETS_LLM_BUDGET_USD", "-1", "must be >= 0"),
    ("RS_ASSETS_LLM_RPM", "0", "must be > 0"),
    ("RS_ASSETS_LLM_TPM", "nan", "must be > 0"),
    ("RS_ASSETS_LLM_IMAGE", "hd", "one of auto, thumb"),
    ("RS_ASSETS_LLM", "gpt", "one of local, openai"),
    ("RS_ASSETS_LLM_DRY_RUN", "maybe", "true or false"),
    ("RS_ASSETS_LLM_PRICES", '{"m": [1, 2]}', "three non-negative prices"),
]


@pytest.mark.parametrize(("var", "value", "message"), BAD, ids=[f"{v}={x}" for v, x, _ in BAD])
def test_a_bad_llm_variable_fails_the_load_naming_it(
    var: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError, match=f"{var}.*{message}"):
        llm_from_env()


def test_unknown_batch_strategy_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RS_ASSETS_LLM", "openai")
    monkeypatch.setenv("RS_ASSETS_LLM_BATCH", "gaia,captionz")
    with pytest.raises(SettingsError, match="RS_ASSETS_LLM_BATCH: unknown strategies captionz"):
        llm_from_env()
    monkeypatch.setenv("RS_ASSETS_LLM_BATCH", "all")
    assert LLMSettings.from_env().batch == {"gaia", "mpgi", "instructions"}
    monkeypatch.setenv("RS_ASSETS_LLM_BATCH", "instructions")
    assert LLMSettings.from_env().batch == {"instructions"}


def test_resource_fields_are_the_env_table_bound_to_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(LLMResource.model_fields) == set(ENV)
    monkeypatch.setenv("RS_ASSETS_LLM", "openai")
    monkeypatch.setenv("RS_ASSETS_VISION_MODEL", "my-vlm")
    resource = llm_from_env()
    assert resource.vision_model.env_var_name == "RS_ASSETS_VISION_MODEL"  # an EnvVar, resolved at run time
    assert resource.text_model == ""  # unset: the default, not a binding to a missing variable
    override = LLMResource(backend="openai", vision_model="other", concurrency="0")
    with pytest.raises(SettingsError, match=r"resources\.llm\.concurrency"):
        override.settings()


def test_fingerprint_covers_every_field_that_shapes_a_request_or_its_cost() -> None:
    base = LLMSettings.from_values({"backend": "openai"})
    changed = [
        {"backend": "openai", "vision_model": "gpt-4o-mini"},
        {"backend": "openai", "budget_usd": "3"},
        {"backend": "openai", "image_mode": "thumb"},
        {"backend": "openai", "batch": "gaia"},
        {"backend": "openai", "prices": json.dumps({"gpt-4o": [1, 1, 1]})},
        {"backend": "openai", "gaia_prefix": "Scene:"},
    ]
    prints = [json.dumps(LLMSettings.from_values(c).fingerprint(), sort_keys=True) for c in changed]
    assert json.dumps(base.fingerprint(), sort_keys=True) not in prints
    assert len(set(prints)) == len(prints)


def test_lake_root_without_bucket_is_an_error_not_a_local_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for root in ("s3://", "s3:///prefix"):
        monkeypatch.setenv("RS_ASSETS_LAKE", root)
        with pytest.raises(ValueError, match="names no bucket"):
            lake_from_env()
        with pytest.raises(ValueError, match="names no bucket"):
            Lake(root)
    assert not (tmp_path / "s3:").exists()


def test_bad_variable_fails_the_code_location_load(tmp_path: Path) -> None:
    env = {"RS_ASSETS_LLM_CONCURRENCY": "0", "DAGSTER_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "rs_assets.definitions"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, **env},
        timeout=300,
    )
    assert out.returncode != 0 and "RS_ASSETS_LLM_CONCURRENCY" in out.stdout + out.stderr


def test_warehouse_over_a_lake_path_with_a_quote(tmp_path: Path) -> None:
    """The lake path is quoted, never pasted, into the view SQL: a quote in it used to break the catalog."""
    lake = Lake(str(tmp_path / "it's a lake"))
    table = pa.table(  # the contract columns (the lineage view reads the representing record's)
        {"image_id": ["a"], "cluster_id": ["a"], "is_canonical": [True], "cluster_size": [1],
         "record_id": ["r"], "source": ["s"], "year": [2020]}
    )  # fmt: skip
    lake.write_table("tables/image_clusters/part-0.parquet", table, {"rs_assets.run_id": "r1"})
    views = build_catalog(lake, tmp_path / "catalog.duckdb")
    conn = connect(tmp_path / "catalog.duckdb", lake)
    try:
        assert "image_clusters" in views
        assert conn.execute("SELECT count(*) FROM image_clusters").fetchone()[0] == 1
    finally:
        conn.close()
