"""The DuckDB catalog: views over the lake's Parquet, defined in `sql/views/*.sql` (DESIGN 5).

Every table stage with `auto_view` gets a `SELECT *` view named after it; view files add the rest.
They use `{{asset}}` placeholders, replaced by a `read_parquet` over that asset's files (or an
empty stand-in with the contract columns when nothing was written yet), and `{{runs:asset}}`, a
relation (filename, run_id, code_version) read from each file's key-value metadata;
`{{sessions:table}}` reads an append-only table written outside the jobs, one file per session
(`SESSION_TABLES`: human ratings); `{{release:samples}}` / `{{release:diff}}` read that file of every
published release version. The catalog is built in a temp file and swapped in, so readers never see
half a catalog and partition runs never open it for writing.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from rs_assets.lib import settings
from rs_assets.lib.caption_scores import ratings
from rs_assets.lib.lake import Lake, filesystem, table_key
from rs_assets.lib.release.versions import RELEASE_FILES, read_index
from rs_assets.lib.stages import stage, table_stages

PLACEHOLDER = re.compile(r"\{\{\s*(runs:|sessions:|release:)?([a-z_]+)\s*\}\}")
SESSION_TABLES: dict[str, pa.Schema] = {ratings.TABLE: ratings.SCHEMA}


def sql_string(value: str) -> str:
    """A SQL string literal: DuckDB cannot bind parameters in view definitions, so quote, never paste."""
    return "'" + value.replace("'", "''") + "'"


def table_glob(lake: Lake, asset: str) -> str:
    """Every file of an asset's table: one global file, or one per source x year partition."""
    if not stage(asset).partitioned:
        return lake.uri(table_key(asset))
    return lake.uri(f"tables/{asset}/*/*/part-0.parquet")


def auto_views() -> str:
    """`CREATE VIEW <stage> AS SELECT * FROM {{<stage>}}` for every table stage that wants one."""
    return "".join(
        f"CREATE VIEW {s.name} AS SELECT * FROM {{{{{s.name}}}}};\n" for s in table_stages() if s.auto_view
    )


def register_lake(conn: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Let DuckDB read `s3://` through fsspec (works offline and on any DuckDB version)."""
    if lake.is_s3:
        conn.register_filesystem(filesystem(lake.root))


def _source_sql(conn: duckdb.DuckDBPyConnection, lake: Lake, asset: str) -> str:
    if lake.table_keys(asset):
        return (
            f"read_parquet({sql_string(table_glob(lake, asset))}, hive_partitioning = false, "
            "union_by_name = true, filename = true)"
        )
    # nothing written yet: an empty table with the contract columns keeps every view valid
    schema = stage(asset).full_schema.append(pa.field("filename", pa.string()))
    empty = pa.Table.from_batches([], schema=schema)  # noqa: F841 - read by DuckDB's replacement scan
    conn.execute(f"CREATE OR REPLACE TABLE _empty_{asset} AS SELECT * FROM empty")
    return f"_empty_{asset}"


def _runs_sql(lake: Lake, asset: str) -> str:
    if not lake.table_keys(asset):
        return (
            "(SELECT NULL::VARCHAR AS filename, NULL::VARCHAR AS run_id, NULL::VARCHAR AS code_version "
            "WHERE false)"
        )
    return (
        "(SELECT file_name AS filename, "
        "max(decode(value)) FILTER (WHERE decode(key) = 'rs_assets.run_id') AS run_id, "
        "max(decode(value)) FILTER (WHERE decode(key) = 'rs_assets.code_version') AS code_version "
        f"FROM parquet_kv_metadata({sql_string(table_glob(lake, asset))}) GROUP BY file_name)"
    )


def _sessions_sql(conn: duckdb.DuckDBPyConnection, lake: Lake, name: str) -> str:
    if lake.table_keys(name):
        files = sql_string(lake.uri(f"tables/{name}/*/*/*.parquet"))
        return f"read_parquet({files}, hive_partitioning = false, union_by_name = true)"
    empty = pa.Table.from_batches([], schema=SESSION_TABLES[name])  # noqa: F841 - DuckDB replacement scan
    conn.execute(f"CREATE OR REPLACE TABLE _empty_{name} AS SELECT * FROM empty")
    return f"_empty_{name}"


def _release_sql(conn: duckdb.DuckDBPyConnection, lake: Lake, name: str) -> str:
    """One file every published release version holds, across versions in publish order (listed from
    the version index, so the `latest` alias is not read twice)."""
    filename, schema = RELEASE_FILES[name]
    keys = [k for v in read_index(lake) if lake.has(k := f"release/{v['version']}/{filename}")]
    if keys:
        uris = ", ".join(sql_string(lake.uri(k)) for k in keys)
        return f"read_parquet([{uris}], union_by_name = true, filename = true)"
    empty = pa.Table.from_batches([], schema=schema.append(pa.field("filename", pa.string())))  # noqa: F841 - read by DuckDB's replacement scan
    conn.execute(f"CREATE OR REPLACE TABLE _empty_release_{name} AS SELECT * FROM empty")
    return f"_empty_release_{name}"


def render(sql: str, conn: duckdb.DuckDBPyConnection, lake: Lake) -> str:
    def sub(match: re.Match[str]) -> str:
        kind, name = match.groups()
        if kind == "runs:":
            return _runs_sql(lake, name)
        if kind == "sessions:":
            return _sessions_sql(conn, lake, name)
        return _release_sql(conn, lake, name) if kind == "release:" else _source_sql(conn, lake, name)

    return PLACEHOLDER.sub(sub, sql)


def build_catalog(lake: Lake, target: Path | None = None, views_dir: Path | None = None) -> list[str]:
    """(Re)build the catalog from the view files in name order; returns the views created."""
    target = target or settings.catalog_path()
    views_dir = views_dir or settings.sql_root() / "views"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".catalog.", suffix=".duckdb")
    os.close(fd)
    os.unlink(tmp)  # DuckDB must create the file itself
    try:
        conn = duckdb.connect(tmp)
        register_lake(conn, lake)
        conn.execute(render(auto_views(), conn, lake))
        for path in sorted(views_dir.glob("*.sql")):
            conn.execute(render(path.read_text(encoding="utf-8"), conn, lake))
        views = [
            r[0]
            for r in conn.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY view_name"
            ).fetchall()
        ]
        conn.close()
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp + ".wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return views


def connect(catalog: Path | None = None, lake: Lake | None = None, read_only: bool = True) -> Any:
    """An analyst connection to the catalog with the lake's filesystem registered."""
    conn = duckdb.connect(str(catalog or settings.catalog_path()), read_only=read_only)
    register_lake(conn, lake or Lake(settings.lake_root()))
    return conn
