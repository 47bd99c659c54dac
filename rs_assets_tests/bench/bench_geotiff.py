"""GeoTIFF ingest (not a test): rows/s of a `kind: labeled` folder of small GeoTIFFs through
`fetch_items` (listing, DateTime header, guarded read, georeferencing with rasterio + pyproj), and peak
RSS as the folder grows. Run: `python -m rs_assets_tests.bench.bench_geotiff [--quick]`.

Each measurement runs in a fresh subprocess (its own ru_maxrss), against two baselines measured in the
same run on the same files:
- `naive`: what a script does: for each file, rasterio.open, CRS/transform/DateTime, pyproj centre,
  read the bytes (one thread).
- `no-geo`: our ingest with the geo extra made unavailable (the cost of the rest of the connector).
10k images are measured directly unless `--quick` (1k and 4k, extrapolated to 10k at the larger
size's rate). The last line is the verdict (`RESULT ...`): ours at least as fast as naive, and peak RSS
flat (the larger folder within 1.3x the smaller one's).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RSS_FLAT = 1.3
CLASSES = ("forest", "farmland", "water", "urban")


def _template() -> bytes:
    """A 64 x 64, 4-band 16-bit UTM GeoTIFF with a DateTime tag (~33 KB), written by rasterio."""
    import rasterio

    data = np.random.default_rng(0).integers(1, 3000, (4, 64, 64)).astype(np.uint16)
    profile = {
        "driver": "GTiff",
        "width": 64,
        "height": 64,
        "count": 4,
        "dtype": "uint16",
        "crs": "EPSG:32633",
    }
    with rasterio.MemoryFile() as memory:
        with memory.open(**profile, transform=rasterio.Affine(10, 0, 500_000, 0, -10, 5_600_000)) as dst:
            dst.write(data)
            dst.update_tags(TIFFTAG_DATETIME="2020:08:15 10:30:00")
        return memory.read()


def make_folder(root: Path, n: int) -> None:
    """`n` distinct GeoTIFFs in class folders, Sentinel-2 product names (bytes differ by a trailer)."""
    content = _template()
    for cls in CLASSES:
        (root / cls).mkdir(parents=True, exist_ok=True)
    for k in range(n):
        name = f"S2A_MSIL2A_20200815T101031_N0214_R022_T33UUP_{k:06d}.tif"
        (root / CLASSES[k % len(CLASSES)] / name).write_bytes(content + k.to_bytes(4, "little"))


def _naive(root: Path) -> int:
    import rasterio
    from pyproj import Transformer

    rows = 0
    for path in sorted(root.rglob("*.tif")):
        with rasterio.open(path) as src:
            crs, t = src.crs, src.transform
            _ = src.tags().get("TIFFTAG_DATETIME")
            x, y = t.c + t.a * src.width / 2, t.f + t.e * src.height / 2
            Transformer.from_crs(crs.to_wkt(), "EPSG:4326", always_xy=True).transform(x, y)
        _ = path.read_bytes()
        rows += 1
    return rows


def _ours(root: Path) -> int:
    from rs_assets.lib.lake import Lake
    from rs_assets.lib.raw_scrape.connectors import fetch_items
    from rs_assets.lib.sources import parse_sources

    body = {"kind": "labeled", "path": str(root), "default_year": 2010}
    source = parse_sources({"sources": {"bench": body}})["bench"]
    rows = 0
    with tempfile.TemporaryDirectory() as lake:
        for item in fetch_items("bench", source, 2020, Lake(lake)):
            assert item.status == "ok" and (item.lat is not None or "georef_error" in item.extra), item
            rows += 1
    return rows


def _child(mode: str, root: Path) -> None:
    """Subprocess body: one measurement, printed as JSON (rows, seconds, peak RSS)."""
    if mode == "no-geo":
        sys.modules["rasterio"] = None  # type: ignore[assignment]  # the extra is not installed
        sys.modules["pyproj"] = None  # type: ignore[assignment]
    run = _naive if mode == "naive" else _ours
    started = time.perf_counter()
    rows = run(root)
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "s": seconds, "rss_mb": rss}))


def measure(mode: str, root: Path) -> dict[str, float]:
    cmd = [sys.executable, "-m", "rs_assets_tests.bench.bench_geotiff", "--child", mode, str(root)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    if "--child" in sys.argv:
        at = sys.argv.index("--child")
        _child(sys.argv[at + 1], Path(sys.argv[at + 2]))
        return
    sizes = [1000, 4000] if "--quick" in sys.argv else [2000, 10_000]
    results: dict[int, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            root = Path(tmp) / f"tiles_{n}"
            make_folder(root, n)
            results[n] = {mode: measure(mode, root) for mode in ("ours", "naive", "no-geo")}
            r = results[n]
            assert r["ours"]["rows"] == r["naive"]["rows"] == n, r
            line = ", ".join(
                f"{label} {n / r[mode]['s']:.0f} rows/s (peak RSS {r[mode]['rss_mb']:.0f} MB)"
                for mode, label in (("ours", "ours"), ("naive", "naive loop"), ("no-geo", "ours without geo"))
            )
            print(f"[geotiff] {n:,} GeoTIFFs (64x64 x4 uint16, UTM): {line}", flush=True)
    small, large = (results[n]["ours"] for n in sizes)
    speedup = (sizes[-1] / large["s"]) / (sizes[-1] / results[sizes[-1]]["naive"]["s"])
    flat = large["rss_mb"] / small["rss_mb"]
    at_10k = 10_000 / (sizes[-1] / large["s"])
    verdict = "PASS" if speedup >= 1.0 and flat <= RSS_FLAT else "FAIL"
    rate = sizes[-1] / large["s"]
    print(
        f"RESULT geotiff ingest: {rate:.0f} rows/s ({at_10k:.1f} s per 10k images"
        f"{'' if sizes[-1] == 10_000 else ', extrapolated'}), {speedup:.2f}x the naive loop; peak RSS "
        f"{small['rss_mb']:.0f} MB at {sizes[0]:,} -> {large['rss_mb']:.0f} MB at {sizes[-1]:,} "
        f"({flat:.2f}x, goal <= {RSS_FLAT}x): {verdict}"
    )


if __name__ == "__main__":
    main()
