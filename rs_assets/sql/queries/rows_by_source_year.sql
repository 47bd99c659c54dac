-- Rows per source x year through the funnel: attempted, fetched, kept, canonical, captions, conversations.
SELECT r.source, r.year,
       count(*)                                         AS attempted,
       count(*) FILTER (WHERE r.status = 'ok')          AS fetched,
       count(*) FILTER (WHERE p.kept)                   AS kept,
       (SELECT count(*) FROM image_clusters c
         WHERE c.source = r.source AND c.year = r.year AND c.is_canonical) AS canonical_images,
       (SELECT count(*) FROM captions k
         WHERE k.source = r.source AND k.year = r.year AND k.status = 'ok') AS captions,
       (SELECT count(*) FROM instruction_sets i
         WHERE i.source = r.source AND i.year = r.year AND i.status = 'ok') AS conversations
FROM raw_scrape r JOIN pool_decisions p USING (record_id)
GROUP BY r.source, r.year
ORDER BY r.source, r.year;
