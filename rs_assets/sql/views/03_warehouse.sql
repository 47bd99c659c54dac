-- warehouse: the catalog describing itself (every view an analyst can query, with its SQL).
CREATE VIEW warehouse AS
SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND view_name <> 'warehouse';
