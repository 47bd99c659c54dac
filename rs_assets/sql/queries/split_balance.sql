-- Benchmark split balance and leakage: a cluster must never appear in two splits.
SELECT split, count(*) AS images, count(DISTINCT cluster_id) AS clusters, count(DISTINCT geo_cell) AS geo_cells,
       (SELECT count(*) FROM (SELECT cluster_id FROM benchmark_splits GROUP BY cluster_id
                              HAVING count(DISTINCT split) > 1)) AS leaking_clusters
FROM benchmark_splits
GROUP BY split
ORDER BY split;
