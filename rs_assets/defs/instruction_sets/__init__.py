"""The instruction_sets asset (Dagster wiring only; record logic in rs_assets.lib.instruction_sets)."""
