-- One view per table asset, over every partition's Parquet file (placeholders filled by the builder).
CREATE VIEW raw_scrape AS SELECT * FROM {{raw_scrape}};
CREATE VIEW image_clusters AS SELECT * FROM {{image_clusters}};
CREATE VIEW captions AS SELECT * FROM {{captions}};
CREATE VIEW instruction_sets AS SELECT * FROM {{instruction_sets}};
CREATE VIEW benchmark_splits AS SELECT * FROM {{benchmark_splits}};
-- release: the manifest of exported files (one row per file of each release version).
CREATE VIEW release AS SELECT * FROM {{release}};

-- vlm_pool_scores: GAIA's structured vision answers fed back as pool scores, per image.
CREATE VIEW vlm_pool_scores AS
SELECT image_id,
       bool_and(CAST(json_extract(facts, '$.is_remote_sensing') AS BOOLEAN)) AS vlm_is_remote_sensing,
       bool_or(CAST(json_extract(facts, '$.is_chart') AS BOOLEAN)) AS vlm_is_chart,
       any_value(json_extract_string(facts, '$.resolution')) AS vlm_resolution_class,
       any_value(model) AS vlm_model
FROM captions
WHERE strategy = 'gaia' AND status = 'ok' AND facts IS NOT NULL
GROUP BY image_id;

-- pool_decisions: every raw row with its decision and scores (plus the VLM's, once captioned);
-- filtered_pool: the kept rows only.
CREATE VIEW pool_decisions AS
SELECT p.*, v.vlm_is_remote_sensing, v.vlm_is_chart, v.vlm_resolution_class
FROM {{filtered_pool}} p LEFT JOIN vlm_pool_scores v USING (image_id);
CREATE VIEW filtered_pool AS SELECT * FROM pool_decisions WHERE kept;
