"""warehouse: the DuckDB catalog over the lake."""
