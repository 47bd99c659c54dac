"""The shape rules of the code base: lib/ is Dagster-free, definitions load without import-time I/O and
for any sources file in process, every variable the code reads is documented, sql/ ships in the wheel."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rs_assets.lib.stages import STAGES

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_import_contract_lib_never_imports_dagster() -> None:
    out = subprocess.run([str(BIN / "lint-imports")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "1 kept, 0 broken" in out.stdout


def test_every_variable_the_code_reads_is_in_the_readme_table() -> None:
    pattern = re.compile(r"[\"']((?:RS_ASSETS|OPENAI|AWS)_[A-Z0-9_]+|DAGSTER_HOME|GX_ANALYTICS_ENABLED)[\"']")
    read = {m for path in (REPO / "rs_assets").rglob("*.py") for m in pattern.findall(path.read_text())}
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Configuration") : readme.index("## Adding a source")]
    documented = {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
    }
    assert read, "the scan found no variables: the pattern is broken"
    assert read - documented == set()


def test_defs_import_without_reading_the_sources_file(tmp_path: Path) -> None:
    """Importing every defs module reads nothing; loading the definitions names the missing file."""
    code = (
        "import importlib, pkgutil, rs_assets.defs as d\n"
        "for m in pkgutil.walk_packages(d.__path__, 'rs_assets.defs.'): importlib.import_module(m.name)\n"
        "print('imported')\n"
        "from rs_assets.definitions import defs\n"
        "defs()\n"
    )
    env = {**os.environ, "RS_ASSETS_SOURCES": str(tmp_path / "missing.yaml")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.stdout.strip() == "imported"
    assert out.returncode != 0 and "missing.yaml" in out.stderr and "sources file not found" in out.stderr


def test_definitions_for_another_sources_file_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rs_assets.definitions import defs

    other = tmp_path / "other.yaml"
    other.write_text("sources:\n  elsewhere: {kind: synthetic, years: [2001], per_year: 2}\n")
    monkeypatch.setenv("RS_ASSETS_SOURCES", str(other))
    loaded = defs()
    keys = loaded.resolve_assets_def("raw_scrape").partitions_def.get_partition_keys()
    assert "elsewhere|2001" in keys and not any(k.startswith("demo_synthetic|") for k in keys)
    assert {k.to_user_string() for k in loaded.resolve_asset_graph().get_all_asset_keys()} == set(STAGES)
    monkeypatch.undo()
    assert (
        "demo_synthetic|2020" in defs().resolve_assets_def("raw_scrape").partitions_def.get_partition_keys()
    )


def test_sql_and_prompts_ship_inside_the_wheel(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            ".",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("rs_assets-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.split("rs_assets/sql/", 1)[1] for n in names if n.startswith("rs_assets/sql/")}
    in_repo = {
        p.relative_to(REPO / "rs_assets" / "sql").as_posix()
        for p in (REPO / "rs_assets" / "sql").rglob("*.sql")
    }
    assert in_repo and shipped == in_repo
    assert any(n.startswith("rs_assets/prompts/") for n in names)


def test_tests_mirror_the_stage_layout() -> None:
    """A stage's tests live in `rs_assets_tests/<stage>/`, named like its `lib/<stage>/` package."""
    tests = REPO / "rs_assets_tests"
    folders = {p.name for p in tests.iterdir() if p.is_dir() and any(p.glob("test_*.py"))}
    stages = set(STAGES)
    assert folders and folders <= stages, folders - stages
    assert all((REPO / "rs_assets" / "lib" / name).is_dir() for name in folders)
    assert all((tests / name / "__init__.py").is_file() for name in folders)
