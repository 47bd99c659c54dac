"""Pixel sizes in metres on the WGS84 ellipsoid (pure: the `geo` extra is not needed)."""

from __future__ import annotations

import math

WGS84_A = 6_378_137.0  # semi-major axis, metres
WGS84_E2 = 6.694_379_990_14e-3  # first eccentricity squared


def metres_per_degree(lat: float) -> tuple[float, float]:
    """(metres per degree of longitude, of latitude) at `lat`: the prime-vertical and meridional radii
    of curvature, so a 1e-5 degree pixel at 60 N is ~0.56 m wide and ~1.11 m tall."""
    phi = math.radians(lat)
    w = 1 - WGS84_E2 * math.sin(phi) ** 2
    prime_vertical = WGS84_A / math.sqrt(w)
    meridional = WGS84_A * (1 - WGS84_E2) / w**1.5
    return math.radians(prime_vertical * math.cos(phi)), math.radians(meridional)


def pixel_size_m(x_size: float, y_size: float, *, geographic: bool, unit: float, lat: float) -> float:
    """Mean of a pixel's width and height in metres. `unit` converts the CRS unit to metres (projected)
    or to degrees (geographic: then sizes are converted at the pixel's latitude `lat`)."""
    if not geographic:
        return (abs(x_size) + abs(y_size)) / 2 * unit
    per_lon, per_lat = metres_per_degree(lat)
    return (abs(x_size) * unit * per_lon + abs(y_size) * unit * per_lat) / 2
