"""The raw_scrape asset (Dagster wiring only; record logic in rs_assets.lib.raw_scrape)."""
