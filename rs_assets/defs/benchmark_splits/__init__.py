"""The benchmark_splits asset (Dagster wiring only; record logic in rs_assets.lib.benchmark_splits)."""
