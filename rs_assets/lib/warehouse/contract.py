"""The warehouse stage: the DuckDB catalog (no lake table of its own)."""

from rs_assets.lib.stages import Stage

WAREHOUSE = Stage(
    name="warehouse",
    description="The DuckDB catalog analysts open: one view per asset plus pool_decisions and lineage.",
    partitioned=False,
    job="publish",
)
