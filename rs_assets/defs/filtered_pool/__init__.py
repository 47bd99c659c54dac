"""The filtered_pool asset (Dagster wiring only; record logic in rs_assets.lib.filtered_pool)."""
