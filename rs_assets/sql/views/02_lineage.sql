-- lineage: for every image in a benchmark split, where it came from, what the filters said,
-- which model calls described it, and which Dagster runs wrote each step.
CREATE VIEW file_runs AS
SELECT * FROM {{runs:raw_scrape}}
UNION ALL SELECT * FROM {{runs:filtered_pool}}
UNION ALL SELECT * FROM {{runs:captions}};

CREATE VIEW lineage AS
SELECT
    s.image_id, s.record_id, s.cluster_id, s.split, s.source, s.year,
    r.url, r.page_url, r.credits, r.status AS fetch_status, r.fetched_at,
    rr.run_id AS scrape_run_id,
    p.kept, p.drop_reason, pr.run_id AS pool_run_id,
    c.caption_ids, c.models, c.prompt_ids, c.request_hashes, c.caption_run_ids
FROM benchmark_splits s
JOIN raw_scrape r USING (record_id)
LEFT JOIN file_runs rr ON rr.filename = r.filename
JOIN pool_decisions p USING (record_id)
LEFT JOIN file_runs pr ON pr.filename = p.filename
LEFT JOIN (
    SELECT c.image_id,
           list(c.caption_id ORDER BY c.caption_id) AS caption_ids,
           list(DISTINCT c.model) AS models,
           list(DISTINCT c.prompt_id) AS prompt_ids,
           list(c.request_hash ORDER BY c.caption_id) FILTER (WHERE c.request_hash IS NOT NULL) AS request_hashes,
           list(DISTINCT fr.run_id) AS caption_run_ids
    FROM captions c LEFT JOIN file_runs fr ON fr.filename = c.filename
    GROUP BY c.image_id
) c ON c.image_id = s.image_id;
