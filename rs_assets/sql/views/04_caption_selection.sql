-- caption_selection: every scored candidate caption with its selection decision (caption_scores'
-- `overall` rows): `selected` captions are the ones the release exports; every other caption says why
-- not (hallucinated_object, wrong_language, duplicate, low_score, below_top_k). `offending` lists the
-- signals that found a problem, with their evidence.
CREATE VIEW caption_selection AS
SELECT o.caption_id, o.image_id, o.record_id, o.source, o.year, o.strategy, c.text,
       o.value AS mean_score, o.score AS weakest_score, o.rank, o.decision,
       o.decision = 'selected' AS exported,
       p.offending
FROM caption_scores o
LEFT JOIN captions c USING (caption_id)
LEFT JOIN (
    SELECT caption_id, list(signal || ': ' || evidence ORDER BY signal) AS offending
    FROM caption_scores
    WHERE status = 'ok' AND evidence IS NOT NULL AND score < 1
      AND signal NOT IN ('language', 'near_duplicate', 'overall')
    GROUP BY caption_id
) p USING (caption_id)
WHERE o.signal = 'overall';
