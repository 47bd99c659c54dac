-- The builder first creates one `SELECT *` view per table stage (the stage registry's `auto_view`:
-- raw_scrape, image_clusters, captions, ...); a placeholder (the asset name in double braces) reads
-- that asset's Parquet files.

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
