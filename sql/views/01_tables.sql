-- One view per table asset, over every partition's Parquet file (placeholders filled by the builder).
CREATE VIEW raw_scrape AS SELECT * FROM {{raw_scrape}};
-- pool_decisions: every raw row with its decision; filtered_pool: the kept rows only.
CREATE VIEW pool_decisions AS SELECT * FROM {{filtered_pool}};
CREATE VIEW filtered_pool AS SELECT * FROM pool_decisions WHERE kept;
CREATE VIEW image_clusters AS SELECT * FROM {{image_clusters}};
CREATE VIEW captions AS SELECT * FROM {{captions}};
CREATE VIEW instruction_sets AS SELECT * FROM {{instruction_sets}};
CREATE VIEW benchmark_splits AS SELECT * FROM {{benchmark_splits}};
-- release: the manifest of exported files (one row per file of each release version).
CREATE VIEW release AS SELECT * FROM {{release}};
