"""image_clusters: exact and near duplicates across every partition of the pool."""
