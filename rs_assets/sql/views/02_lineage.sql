-- lineage: ONE WIDE ROW PER SAMPLE ID, for every id an export carries as `sample_id`:
--   sample_kind 'image'       (WebDataset, Karpathy images; sample_id = image_id, its canonical record),
--   sample_kind 'caption'     (open_clip, HF Parquet, Karpathy sentences; sample_id = caption_id),
--   sample_kind 'instruction' (LLaVA; sample_id = instruction_id).
-- Each row names the record, source, URL or path, fetch time and HTTP status, filter decision and
-- scores, cluster, split, the model calls behind it (list columns: one entry per caption used), and
-- the Dagster run and code version of every step that wrote it.

-- file_runs: every partition file with the run and code version that wrote it.
CREATE VIEW file_runs AS
SELECT * FROM {{runs:raw_scrape}}
UNION ALL SELECT * FROM {{runs:filtered_pool}}
UNION ALL SELECT * FROM {{runs:captions}}
UNION ALL SELECT * FROM {{runs:instruction_sets}}
UNION ALL SELECT * FROM {{runs:benchmark_splits}};

-- record_hops: per record, the fetch and the filter decision with their runs.
CREATE VIEW record_hops AS
SELECT r.record_id, r.url, r.page_url, r.credits, r.status AS fetch_status, r.http_status, r.fetched_at,
       rr.run_id AS scrape_run_id, rr.code_version AS scrape_code_version,
       p.kept, p.drop_reason, p.rs_score, p.rs_text_score, p.rs_scorer, p.pixel_std, p.zero_fraction,
       p.phash, p.vlm_is_remote_sensing, p.vlm_is_chart,
       pr.run_id AS pool_run_id, pr.code_version AS pool_code_version
FROM raw_scrape r
LEFT JOIN file_runs rr ON rr.filename = r.filename
LEFT JOIN pool_decisions p ON p.record_id = r.record_id
LEFT JOIN file_runs pr ON pr.filename = p.filename;

-- lineage_samples: every sample id with the captions it was made from.
CREATE VIEW lineage_samples AS
SELECT k.image_id AS sample_id, 'image' AS sample_kind, k.image_id, k.record_id,
       NULL::VARCHAR AS task, NULL::VARCHAR AS producer_run_id, NULL::VARCHAR AS producer_code_version,
       (SELECT list(c.caption_id ORDER BY c.caption_id) FROM captions c
        WHERE c.image_id = k.image_id AND c.record_id = k.record_id) AS caption_ids
FROM image_clusters k WHERE k.is_canonical
UNION ALL
SELECT c.caption_id, 'caption', c.image_id, c.record_id, c.strategy, fr.run_id, fr.code_version, [c.caption_id]
FROM captions c LEFT JOIN file_runs fr ON fr.filename = c.filename
UNION ALL
SELECT i.instruction_id, 'instruction', i.image_id, i.record_id, i.task, fr.run_id, fr.code_version,
       i.caption_ids
FROM instruction_sets i LEFT JOIN file_runs fr ON fr.filename = i.filename;

CREATE VIEW lineage AS
SELECT s.sample_id, s.sample_kind, s.task, s.image_id, s.record_id, k.cluster_id, b.split, k.source, k.year,
       h.url, h.page_url, h.credits, h.fetch_status, h.http_status, h.fetched_at,
       h.scrape_run_id, h.scrape_code_version,
       h.kept, h.drop_reason, h.rs_score, h.rs_text_score, h.rs_scorer, h.pixel_std, h.zero_fraction, h.phash,
       h.vlm_is_remote_sensing, h.vlm_is_chart, h.pool_run_id, h.pool_code_version,
       br.run_id AS split_run_id,
       m.caption_ids, m.strategies, m.models, m.prompt_ids, m.prompt_versions, m.request_hashes,
       m.prompt_tokens, m.completion_tokens, m.cost_usd, m.caption_run_ids, m.caption_code_versions,
       s.producer_run_id, s.producer_code_version
FROM lineage_samples s
LEFT JOIN record_hops h ON h.record_id = s.record_id
LEFT JOIN image_clusters k ON k.image_id = s.image_id
LEFT JOIN benchmark_splits b ON b.image_id = s.image_id AND b.record_id = s.record_id
LEFT JOIN file_runs br ON br.filename = b.filename
LEFT JOIN (
    SELECT s.sample_id,
           list(c.caption_id ORDER BY c.caption_id) AS caption_ids,
           list(DISTINCT c.strategy) AS strategies,
           list(DISTINCT c.model) FILTER (WHERE c.model IS NOT NULL) AS models,
           list(DISTINCT c.prompt_id) FILTER (WHERE c.prompt_id IS NOT NULL) AS prompt_ids,
           list(DISTINCT c.prompt_version) FILTER (WHERE c.prompt_version IS NOT NULL) AS prompt_versions,
           list(c.request_hash ORDER BY c.caption_id) FILTER (WHERE c.request_hash IS NOT NULL) AS request_hashes,
           sum(c.prompt_tokens) AS prompt_tokens,
           sum(c.completion_tokens) AS completion_tokens,
           sum(c.cost_usd) AS cost_usd,
           list(DISTINCT fr.run_id) AS caption_run_ids,
           list(DISTINCT fr.code_version) AS caption_code_versions
    FROM lineage_samples s, unnest(s.caption_ids) AS u(caption_id)
    JOIN captions c ON c.caption_id = u.caption_id
    LEFT JOIN file_runs fr ON fr.filename = c.filename
    GROUP BY s.sample_id
) m ON m.sample_id = s.sample_id;
