"""The release asset (Dagster wiring only; record logic in rs_assets.lib.release)."""
