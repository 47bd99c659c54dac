"""The image_clusters asset (Dagster wiring only; record logic in rs_assets.lib.image_clusters)."""
