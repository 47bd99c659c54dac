"""The warehouse asset (Dagster wiring only; record logic in rs_assets.lib.warehouse)."""
