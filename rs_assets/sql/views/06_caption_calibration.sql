-- caption_calibration: how each automatic signal agrees with the human ratings where both exist:
-- Spearman rank correlation (average ranks for ties) between the signal's 0-1 score and the mean
-- human rating of the caption, per signal and rubric. NULL when either side is constant.
CREATE VIEW caption_calibration AS
WITH human AS (
    SELECT caption_id, rubric, avg(rating) AS rating
    FROM (UNPIVOT caption_ratings_latest ON relevance, hallucination, fluency INTO NAME rubric VALUE rating)
    GROUP BY ALL
), pairs AS (
    SELECT s.signal, h.rubric, s.score AS auto, h.rating AS human
    FROM caption_scores s JOIN human h USING (caption_id)
    WHERE s.status = 'ok' AND s.score IS NOT NULL
), ranked AS (
    SELECT signal, rubric,
           rank() OVER (PARTITION BY signal, rubric ORDER BY auto)
               + (count(*) OVER (PARTITION BY signal, rubric, auto) - 1) / 2.0 AS r_auto,
           rank() OVER (PARTITION BY signal, rubric ORDER BY human)
               + (count(*) OVER (PARTITION BY signal, rubric, human) - 1) / 2.0 AS r_human
    FROM pairs
)
SELECT signal, rubric, count(*) AS pairs,
       CASE WHEN isnan(corr(r_auto, r_human)) THEN NULL ELSE round(corr(r_auto, r_human), 4) END AS spearman
FROM ranked
GROUP BY ALL;
