"""Environment configuration (DESIGN section 4), resolved at call time so tests can override it."""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def home() -> Path:
    """Local state folder: catalog, caches. `RS_ASSETS_HOME`, default `<repo>/data`."""
    return Path(os.environ.get("RS_ASSETS_HOME") or REPO_ROOT / "data").resolve()


def lake_root() -> str:
    """Lake root: a folder or `s3://bucket/prefix`. `RS_ASSETS_LAKE`, default `$RS_ASSETS_HOME/lake`."""
    return os.environ.get("RS_ASSETS_LAKE") or str(home() / "lake")


def sources_path() -> Path:
    """Sources YAML. `RS_ASSETS_SOURCES`, default the bundled demo config."""
    return Path(os.environ.get("RS_ASSETS_SOURCES") or PACKAGE_ROOT / "sources.yaml")


def start_year() -> str:
    """First year of the `year` partition dimension. `RS_ASSETS_START_YEAR`, default 1990."""
    value = os.environ.get("RS_ASSETS_START_YEAR") or "1990"
    if not re.fullmatch(r"[0-9]{4}", value):
        raise ValueError(f"RS_ASSETS_START_YEAR must be a four-digit year like 1990, got {value!r}")
    return value


def aws_endpoint_url() -> str | None:
    """boto3's own `AWS_ENDPOINT_URL` (MinIO, moto), for the clients built outside boto3's config."""
    return os.environ.get("AWS_ENDPOINT_URL") or None


def catalog_path() -> Path:
    return home() / "catalog.duckdb"


def sql_root() -> Path:
    """The view and query files, shipped inside the package (the repo's `sql/` links here)."""
    return PACKAGE_ROOT / "sql"
