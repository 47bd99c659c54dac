-- Why records leave the pool: every raw row has exactly one decision (kept or a drop reason).
SELECT coalesce(drop_reason, '(kept)') AS decision,
       count(*) AS records,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
FROM pool_decisions
GROUP BY ALL
ORDER BY records DESC;
