-- release_samples: every sample id each published release version exports, with its content hash.
CREATE VIEW release_samples AS
SELECT regexp_extract(filename, '([^/]+)/samples[.]parquet$', 1) AS version, * EXCLUDE (filename)
FROM {{release:samples}};
-- release_diff: per version, the samples added, removed or changed since the version before it.
CREATE VIEW release_diff AS SELECT * EXCLUDE (filename) FROM {{release:diff}};
