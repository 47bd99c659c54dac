"""Code version of each stage: a hash of the source it runs and the prompt / SQL files it reads.

Dagster compares an asset's `code_version` with the one its last materialisation recorded and marks it
stale when they differ, so the version must change exactly when the stage's behaviour can. It covers the
stage's own package (`lib/<stage>/`), its wiring (`defs/<stage>/assets.py`), every `rs_assets.lib`
module they import (transitively, found by parsing the source, never by importing it) and the data
files its own package reads (prompts for `captions`, SQL views for `warehouse`). Editing a caption
prompt bumps `captions` only (a stage that merely validates strategy names, as the sources file does,
does not run prompts); editing the lake module bumps every stage that imports it.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # rs_assets/
# modules that read files shipped with the package: those files are part of the code they run
DATA_FILES: dict[str, tuple[str, ...]] = {
    "rs_assets.lib.captions.prompts": ("prompts",),
    "rs_assets.lib.warehouse.catalog": ("sql",),
}


def _module_path(module: str) -> Path | None:
    parts = module.split(".")[1:]
    for candidate in (PACKAGE.joinpath(*parts).with_suffix(".py"), PACKAGE.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> set[str]:
    """`rs_assets.lib` modules imported by one file (absolute and relative imports, `from x import mod`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).strip(".")
            names = [base, *(f"{base}.{a.name}" for a in node.names)]
        else:
            continue
        found |= {n for n in names if n.startswith("rs_assets.lib") and _module_path(n)}
    return found


def _closure(roots: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_path(module)
        if path is not None:
            todo += _imports(path, module) - seen
    return seen


def stage_files(stage: str) -> list[Path]:
    """Every file the stage's code version covers, sorted."""
    package = PACKAGE / "lib" / stage
    roots = {
        "rs_assets.lib."
        + ".".join(p.relative_to(PACKAGE / "lib").with_suffix("").parts).removesuffix(".__init__")
        for p in package.rglob("*.py")
    }
    wiring = PACKAGE / "defs" / stage / "assets.py"
    if wiring.is_file():
        roots |= _imports(wiring, f"rs_assets.defs.{stage}.assets")
    own = {m for m in roots if m.startswith(f"rs_assets.lib.{stage}")}
    modules = _closure(roots)
    files = {p for m in modules if (p := _module_path(m)) is not None}
    if wiring.is_file():
        files.add(wiring)
    for module, folders in DATA_FILES.items():
        if module in own:
            files |= {
                f for d in folders for f in (PACKAGE / d).rglob("*") if f.is_file() and f.suffix != ".pyc"
            }
    return sorted(f for f in files if "__pycache__" not in f.parts)


@cache
def code_version(stage: str) -> str:
    """16 hex digits over the paths and bytes of `stage_files(stage)`."""
    digest = hashlib.sha256()
    for path in stage_files(stage):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
