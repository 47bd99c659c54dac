"""raw_scrape: one row per attempted item of a source x year (connectors, row building, contract)."""
