"""Earth-observation raster facts: product naming conventions, RGB band choice, 16-bit stretch, geodesy
(pure), and the optional rasterio/pyproj reader of georeferencing (`geo` extra)."""
