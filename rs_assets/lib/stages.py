"""The stage registry: one entry per asset, the single source of its table contract and wiring.

Each stage's entry lives in its own package (`lib/<stage>/contract.py`); this module collects them in
graph order. Job selections, the warehouse views, the CLI's table list, UI previews, the
great-expectations suites, the dataset card's column dictionary and the definitions snapshot are all
derived from `STAGES`, so adding a stage or a column is one entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

Rule = tuple[str, dict[str, Any]]  # (great-expectations class name, kwargs)
Job = Literal["pool", "clusters", "partition", "publish"]
# The runs that materialise the graph, in the order a backfill runs them: the pool of every partition,
# the global clusters once, the per-partition stages that read the clusters, the global publishers.
JOBS: tuple[Job, ...] = ("pool", "clusters", "partition", "publish")


def job_name(job: str) -> str:
    """The Dagster job that runs a `Stage.job` group."""
    return f"{job}_job"


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    doc: str


@dataclass(frozen=True)
class Stage:
    """What every layer needs to know about one asset.

    `columns` are the contract (DESIGN 6b: tests, views and analysts rely on them); `extra` are the
    columns its writer adds beyond it (documented, but free to grow). `vocabularies` map a column to its
    codes and their meaning (`status`, `drop_reason`...): the GE suite checks values against them and the
    card documents them. `job` says which run materialises it (`JOBS`, in backfill order).
    `derived_from` names the upstream columns an id or key column is computed from (shown as column
    lineage in the UI).
    """

    name: str
    description: str
    partitioned: bool
    job: Job
    columns: tuple[Column, ...] = ()
    extra: tuple[Column, ...] = ()
    keys: tuple[str, ...] = ()
    vocabularies: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    preview: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    auto_view: bool = True  # a `SELECT *` view named after the stage (else defined in sql/views)
    # column -> the upstream `asset.column`s it is derived from (Dagster's `dagster/column_lineage`)
    derived_from: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def has_table(self) -> bool:
        return bool(self.columns)

    @property
    def schema(self) -> pa.Schema:
        """The contract columns (the minimum every writer produces)."""
        return pa.schema([(c.name, c.type) for c in self.columns])

    @property
    def full_schema(self) -> pa.Schema:
        """Contract plus the writer's extra columns: what the stage's files hold."""
        return pa.schema([(c.name, c.type) for c in (*self.columns, *self.extra)])

    def expectations(self) -> list[Rule]:
        """The GE suite: every vocabulary as an in-set rule, then the stage's own rules."""
        vocab = [
            ("ExpectColumnValuesToBeInSet", {"column": col, "value_set": list(codes)})
            for col, codes in self.vocabularies.items()
        ]
        return [*vocab, *self.rules]


def _registry() -> dict[str, Stage]:
    from rs_assets.lib.benchmark_splits.contract import BENCHMARK_SPLITS
    from rs_assets.lib.caption_scores.contract import CAPTION_SCORES
    from rs_assets.lib.captions.contract import CAPTIONS
    from rs_assets.lib.filtered_pool.contract import FILTERED_POOL
    from rs_assets.lib.image_clusters.contract import IMAGE_CLUSTERS
    from rs_assets.lib.instruction_sets.contract import INSTRUCTION_SETS
    from rs_assets.lib.raw_scrape.contract import RAW_SCRAPE
    from rs_assets.lib.release.contract import RELEASE
    from rs_assets.lib.warehouse.contract import WAREHOUSE

    order = (
        RAW_SCRAPE,
        FILTERED_POOL,
        IMAGE_CLUSTERS,
        CAPTIONS,
        CAPTION_SCORES,
        INSTRUCTION_SETS,
        BENCHMARK_SPLITS,
        RELEASE,
        WAREHOUSE,
    )
    return {s.name: s for s in order}


def stage(name: str) -> Stage:
    try:
        return STAGES[name]
    except KeyError:
        raise KeyError(f"unknown stage {name!r}; one of {sorted(STAGES)}") from None


def stages_in_job(job: str) -> list[str]:
    return [s.name for s in STAGES.values() if s.job == job]


def table_stages() -> list[Stage]:
    """Stages that write a lake table (every asset but the catalog itself), in graph order."""
    return [s for s in STAGES.values() if s.has_table]


def schema_problems(name: str, schema: pa.Schema) -> list[str]:
    """Contract columns missing or of the wrong type; empty when the schema honours the contract."""
    problems = []
    for fld in stage(name).schema:
        idx = schema.get_field_index(fld.name)
        if idx < 0:
            problems.append(f"missing column {fld.name}")
        elif not schema.field(idx).type.equals(fld.type):
            problems.append(f"{fld.name}: {schema.field(idx).type} != {fld.type}")
    return problems


def from_rows(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    """A stage's table (contract plus its extra columns) from row dicts."""
    return pa.Table.from_pylist(rows, schema=stage(name).full_schema)


# last: stage packages import the helpers above while the registry is being built
STAGES: dict[str, Stage] = _registry()
