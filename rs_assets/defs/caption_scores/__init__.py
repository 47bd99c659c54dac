"""The caption_scores asset (Dagster wiring only; record logic in rs_assets.lib.caption_scores)."""
