"""GeoTIFF everywhere, BigEarthNet and `format: auto`: real rasters written with rasterio (UTM, geographic,
16-bit multiband, LZW, BigTIFF, JPEG 2000), real pyproj, real Pillow decodes, the labeled connector and an
in-process Dagster materialize of raw_scrape + filtered_pool. The geo extra's absence is simulated by
making `import rasterio` / `import pyproj` fail (sys.modules entry None), not by replacing our code."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import rasterio
import yaml
from PIL import Image

from rs_assets.lib.geo.bands import rgb_bands, sensor_family
from rs_assets.lib.geo.geodesy import metres_per_degree, pixel_size_m
from rs_assets.lib.geo.products import parse_product
from rs_assets.lib.geo.reader import georeference
from rs_assets.lib.geo.stretch import percentile_stretch
from rs_assets.lib.geo.tiff_tags import band_descriptions, parse_tiff_datetime, read_ifd
from rs_assets.lib.imaging import assess_image
from rs_assets.lib.lake import Lake, table_key
from rs_assets.lib.raw_scrape.connectors import fetch_items
from rs_assets.lib.raw_scrape.formats import FORMATS
from rs_assets.lib.raw_scrape.formats.auto import (
    detect,
    json_format,
    resolve,
    table_format,
    txt_format,
    xml_format,
)
from rs_assets.lib.raw_scrape.rows import to_row
from rs_assets.lib.records import RAW_STATUSES
from rs_assets.lib.sources import parse_sources
from rs_assets_tests.loopback_site import image_bytes
from rs_assets_tests.materialize_worker import MaterializeWorker

S2_NAME = "S2B_MSIL2A_20190704T101031_N0212_R022_T33UUP_20190704T130012"
NAIP_NAME = "m_3807537_ne_18_060_20180827"
LANDSAT_NAME = "LC08_L1TP_044034_20200815_20200822_02_T1"
PATCH = "S2A_MSIL2A_20170613T101031_0_45"
BEN_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")


def origin(west: float, north: float, x_size: float, y_size: float) -> rasterio.Affine:
    """North-up pixel grid (rasterio's `from_origin` without its deprecated Affine `*`)."""
    return rasterio.Affine(x_size, 0.0, west, 0.0, -y_size, north)


def geotiff(path: Path, data: np.ndarray, crs: str | None = "EPSG:32633", **kw: Any) -> Path:
    """Write `data` (bands, h, w) with rasterio; kw: transform, descriptions, tags, driver, compress..."""
    count, height, width = data.shape
    descriptions, tags = kw.pop("descriptions", ()), kw.pop("tags", {})
    transform = kw.pop("transform", origin(500_000, 5_600_000, 10, 10))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver = kw.pop("driver", "GTiff")
    profile = {"driver": driver, "width": width, "height": height, "count": count, "dtype": data.dtype}
    with rasterio.open(path, "w", **profile, crs=crs, transform=transform, **kw) as dst:
        dst.write(data)
        if tags:
            dst.update_tags(**tags)
        for band, name in enumerate(descriptions, 1):
            dst.set_band_description(band, name)
    return path


def noise(bands: int, size: int = 64, dtype: Any = np.uint16, high: int = 3000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, high, (bands, size, size)).astype(dtype)


def s2_stack() -> np.ndarray:
    """B02 B03 B04 B08 (10 m stack, Sentinel-2 band order): red bright on the left, blue on the right."""
    ramp = np.tile(np.linspace(500, 3000, 64), (64, 1))
    red, blue = ramp[:, ::-1], ramp
    return np.stack([blue, np.full((64, 64), 1200.0), red, np.full((64, 64), 6000.0)]).astype(np.uint16)


def _source(name: str = "geo", **body: Any) -> Any:
    return parse_sources({"sources": {name: {"kind": "labeled", "default_year": 2010, **body}}})[name]


def _fetch(source: Any, year: int, tmp_path: Path, name: str = "geo") -> dict[str, Any]:
    items = list(fetch_items(name, source, year, Lake(str(tmp_path / "lake"))))
    return {i.native_id: i for i in items}


# -- pure parts ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "convention", "sensor", "when"),
    [
        (f"a/{PATCH}/{PATCH}_B04.tif", "sentinel-2", "Sentinel-2A", datetime(2017, 6, 13, 10, 10, 31)),
        (f"{S2_NAME}.SAFE", "sentinel-2", "Sentinel-2B", datetime(2019, 7, 4, 10, 10, 31)),
        (
            "T33UUP_20200815T100031_B04_10m.jp2",
            "sentinel-2 granule",
            "Sentinel-2",
            datetime(2020, 8, 15, 10, 0, 31),
        ),
        (
            "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_61_39",
            "sentinel-1",
            "Sentinel-1A",
            datetime(2017, 6, 13, 16, 50, 43),
        ),
        (f"{LANDSAT_NAME}_SR_B4.TIF", "landsat", "Landsat 8", datetime(2020, 8, 15)),
        ("LE07_L2SP_044034_20010102_20200822_02_T1", "landsat", "Landsat 7", datetime(2001, 1, 2)),
        ("LC80440342020228LGN00_B4.TIF", "landsat scene", "Landsat 8", datetime(2020, 8, 15)),
        (f"naip/{NAIP_NAME}.tif", "naip", "NAIP", datetime(2018, 8, 27)),
    ],
)
def test_product_names_give_sensor_and_date(name: str, convention: str, sensor: str, when: datetime) -> None:
    product = parse_product(name)
    assert product is not None
    assert (product.convention, product.sensor, product.acquired) == (
        convention,
        sensor,
        when.replace(tzinfo=UTC),
    )


def test_names_without_a_valid_convention_give_nothing() -> None:
    for name in (
        "forest/forest00.tif",
        "LC08_L1TP_044034_20201345_20200822_02_T1",
        "xS2A_MSIL2A_20170613T101031",
    ):
        assert parse_product(name) is None, name


def test_band_choice_by_description_sensor_and_count() -> None:
    assert rgb_bands(13, "Sentinel-2A") == (3, 2, 1)  # B01..B12 with B8A: B04 B03 B02
    assert rgb_bands(12, "sentinel2") == (3, 2, 1)  # BigEarthNet / L2A stacks without B10
    assert rgb_bands(4, "Sentinel-2") == (2, 1, 0)  # B02 B03 B04 B08
    assert rgb_bands(7, "Landsat 8") == (3, 2, 1) == rgb_bands(7, "LC09")
    assert rgb_bands(7, "Landsat 7") == (2, 1, 0)  # ETM+: B3 is red
    assert rgb_bands(4, "NAIP") == (0, 1, 2)  # band 4 is near infrared, never used
    assert rgb_bands(5) == (0, 1, 2) and rgb_bands(2, "Sentinel-2") == (0,) and rgb_bands(1) == (0,)
    assert rgb_bands(4, None, ["B02", "B03", "B04", "B08"]) == (2, 1, 0)  # S2 names without a sensor
    assert rgb_bands(3, None, ["Blue", "Green", "Red"]) == (2, 1, 0)
    assert rgb_bands(7, "Landsat 8", [f"SR_B{k}" for k in range(1, 8)]) == (3, 2, 1)
    assert sensor_family("Landsat 5 MSS") is None and sensor_family("USGS NAIP") == "naip"


def test_percentile_stretch_spreads_reflectances_and_ignores_no_data() -> None:
    values = np.linspace(1000, 3000, 100 * 100).reshape(100, 100, 1).astype(np.uint16)
    values[:10] = 0  # a no-data stripe
    out = percentile_stretch(values)
    assert out.dtype == np.uint8 and out[:10].max() == 0
    assert out[10:].min() == 0 and out[10:].max() == 255 and 100 < out[50:60].mean() < 160
    assert percentile_stretch(np.zeros((4, 4, 3), np.uint16)).max() == 0


def test_pixel_sizes_in_metres() -> None:
    per_lon, per_lat = metres_per_degree(0.0)
    assert per_lon == pytest.approx(111_319.5, abs=0.5) and per_lat == pytest.approx(110_574.3, abs=0.5)
    per_lon, per_lat = metres_per_degree(60.0)
    assert per_lon == pytest.approx(55_800, rel=1e-3) and per_lat == pytest.approx(111_412, rel=1e-3)
    assert pixel_size_m(1e-5, 1e-5, geographic=True, unit=1.0, lat=60.0) == pytest.approx(0.836, rel=1e-3)
    assert pixel_size_m(10, -10, geographic=False, unit=1.0, lat=0) == 10
    assert pixel_size_m(2, 2, geographic=False, unit=0.3048, lat=0) == pytest.approx(0.6096)  # US feet


def test_tiff_tags_without_rasterio(tmp_path: Path) -> None:
    assert parse_tiff_datetime("2020:08:15 10:30:00") == datetime(2020, 8, 15, 10, 30, tzinfo=UTC)
    assert parse_tiff_datetime("2020:13:45 10:30:00") is None and parse_tiff_datetime("yesterday") is None
    path = geotiff(tmp_path / "a.tif", noise(4), descriptions=["B02", "B03", "B04", "B08"], BIGTIFF="YES")
    with open(path, "rb") as fh:
        ifd = read_ifd(fh)
    assert band_descriptions(ifd) == ["B02", "B03", "B04", "B08"]
    with pytest.raises(ValueError, match="not a TIFF"):
        read_ifd(io.BytesIO(b"\x89PNG\r\n\x1a\n"))


@pytest.mark.parametrize(
    ("crs", "transform", "tags"),
    [
        ("EPSG:32633", origin(500_000, 5_600_000, 10, 10), {}),
        ("EPSG:32633", origin(500_000, 5_600_000, 10, 10), {"AREA_OR_POINT": "Point"}),  # half-pixel shift
        ("EPSG:32633", rasterio.Affine(10, 2, 500_000, 1, -10, 5_600_000), {}),  # rotated: a matrix tag
        ("EPSG:4326", origin(10.0, 60.0, 1e-5, 1e-5), {}),
        ("EPSG:2263", origin(980_000, 200_000, 2, 2), {}),  # US survey feet: GDAL decides the units
        ("+proj=utm +zone=33 +ellps=intl +units=m", origin(500_000, 5_600_000, 10, 10), {}),  # user-defined
    ],
)
def test_geotiff_tags_place_the_image_as_gdal_does(
    tmp_path: Path, crs: str, transform: Any, tags: Any
) -> None:
    from pyproj import Transformer

    path = geotiff(
        tmp_path / "t.tif", np.zeros((1, 48, 64), np.uint8), crs=crs, transform=transform, tags=tags
    )
    got = georeference(path.read_bytes())
    with rasterio.open(path) as src:  # the oracle: GDAL's reading, mapped here with pyproj
        t, to_wgs84 = src.transform, Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True)
        lon, lat = to_wgs84.transform(t.a * 32 + t.b * 24 + t.c, t.d * 32 + t.e * 24 + t.f)
    assert got.error is None and (got.lat, got.lon) == (
        pytest.approx(lat, abs=1e-9),
        pytest.approx(lon, abs=1e-9),
    )
    assert got.gsd_m is not None and got.crs.startswith("EPSG:")


# -- the pool: RGB composites of multiband rasters -------------------------------------------------------
def _thumb(content: bytes, sensor: str | None = None) -> np.ndarray:
    a = assess_image(content, sensor=sensor)
    assert a.error is None, a.detail
    return np.asarray(Image.open(io.BytesIO(a.thumb)).convert("RGB"), dtype=np.int32)


def test_sentinel2_stack_composite_is_b04_b03_b02(tmp_path: Path) -> None:
    plain = geotiff(tmp_path / "plain.tif", s2_stack()).read_bytes()
    named = geotiff(
        tmp_path / "named.tif", s2_stack(), descriptions=["B02", "B03", "B04", "B08"]
    ).read_bytes()
    for content, sensor in ((plain, "Sentinel-2B"), (named, None)):
        rgb = _thumb(content, sensor)
        left, right = (
            rgb[:, : rgb.shape[1] // 4].mean(axis=(0, 1)),
            rgb[:, -rgb.shape[1] // 4 :].mean(axis=(0, 1)),
        )
        assert left[0] > 180 > left[2] + 100, left  # red where B04 is bright
        assert right[2] > 180 > right[0] + 100, right
    assert assess_image(plain).width == 64  # no sensor, no names: the first three bands, still decoded


def test_naip_near_infrared_is_never_alpha(tmp_path: Path) -> None:
    rgbn = np.stack([np.full((64, 64), v, np.uint8) for v in (200, 120, 40, 0)])
    rgbn[3, 32:] = 255
    rgbn[:3] += np.random.default_rng(0).integers(0, 6, (3, 64, 64)).astype(np.uint8)
    content = geotiff(tmp_path / f"{NAIP_NAME}.tif", rgbn, crs="EPSG:26918").read_bytes()
    a = assess_image(content, sensor="NAIP")
    rgb = _thumb(content, "NAIP")
    top, bottom = rgb[: rgb.shape[0] // 2].mean(axis=(0, 1)), rgb[rgb.shape[0] // 2 :].mean(axis=(0, 1))
    assert np.abs(top - bottom).max() < 4 and np.abs(top - (202, 122, 42)).max() < 6
    assert a.zero_fraction == 0.0  # a zero near-infrared band is no no-data


def test_compressions_the_numpy_reader_lacks_go_through_gdal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lzw = geotiff(tmp_path / "lzw.tif", s2_stack(), compress="lzw", predictor=2).read_bytes()
    big = geotiff(tmp_path / "big.tif", s2_stack(), BIGTIFF="YES").read_bytes()
    for content in (lzw, big):
        rgb = _thumb(content, "Sentinel-2A")
        assert rgb[:, :10].mean(axis=(0, 1))[0] > 180  # B04 as red
    monkeypatch.setitem(sys.modules, "rasterio", None)  # the geo extra is not installed
    without = assess_image(lzw, sensor="Sentinel-2A")
    assert without.error == "decode_error" and "geo extra" in without.detail
    assert assess_image(big, sensor="Sentinel-2A").error is None  # BigTIFF needs no GDAL


def test_raw_rows_size_multiband_tiffs_and_jp2(tmp_path: Path) -> None:
    from rs_assets.lib.records import RawItem

    tif = geotiff(tmp_path / "a.tif", noise(4)).read_bytes()  # Pillow cannot open 4 x 16 bit
    jp2 = geotiff(tmp_path / "a.jp2", noise(1), driver="JP2OpenJPEG").read_bytes()
    for content, ext in ((tif, "tif"), (jp2, "jp2")):
        row, _ = to_row("geo", RawItem(native_id="x", year=2010, content=content))
        assert (row["image_ext"], row["width"], row["height"]) == (ext, 64, 64)
        assert assess_image(content).error is None  # and the pool decodes both


# -- GeoTIFFs through the labeled connector ------------------------------------------------------------
@pytest.fixture
def geo_folder(tmp_path: Path) -> Path:
    root = tmp_path / "tiles"
    dated = {"TIFFTAG_DATETIME": "2020:08:15 10:30:00"}
    geotiff(root / "forest/utm_s2.tif", s2_stack(), descriptions=["B02", "B03", "B04", "B08"], tags=dated)
    geotiff(
        root / "forest/geographic.tif",
        noise(3, dtype=np.uint8, high=255),
        crs="EPSG:4326",
        transform=origin(10.0, 60.0, 1e-5, 1e-5),
    )
    naip = origin(300_000, 4_200_000, 0.6, 0.6)
    geotiff(
        root / f"farmland/{NAIP_NAME}.tif",
        noise(4, dtype=np.uint8, high=255),
        crs="EPSG:26918",
        transform=naip,
    )
    geotiff(root / f"water/{S2_NAME}.tif", noise(12, seed=2))
    geotiff(root / "water/bad_tag.tif", noise(3, seed=3), tags={"TIFFTAG_DATETIME": "sometime in May"})
    geotiff(root / "urban/utm.jp2", noise(1, seed=4), driver="JP2OpenJPEG")
    landsat = origin(600_000, 4_100_000, 30, 30)
    geotiff(root / f"urban/{LANDSAT_NAME}_SR.tif", noise(7, seed=5), crs="EPSG:32610", transform=landsat)
    (root / "urban").mkdir(exist_ok=True)
    Image.fromarray(noise(3, dtype=np.uint8, high=255).transpose(1, 2, 0)).save(root / "urban/plain.tif")
    return root


def test_geotiffs_are_dated_georeferenced_and_named(geo_folder: Path, tmp_path: Path) -> None:
    source = _source(path=str(geo_folder))
    by_year = {y: _fetch(source, y, tmp_path) for y in (2010, 2018, 2019, 2020)}
    assert {y: sorted(v) for y, v in by_year.items()} == {
        2010: ["forest/geographic.tif", "urban/plain.tif", "urban/utm.jp2", "water/bad_tag.tif"],
        2018: [f"farmland/{NAIP_NAME}.tif"],
        2019: [f"water/{S2_NAME}.tif"],
        2020: ["forest/utm_s2.tif", f"urban/{LANDSAT_NAME}_SR.tif"],
    }
    got = {k: v for items in by_year.values() for k, v in items.items()}
    assert all(i.status == "ok" for i in got.values()), {k: i.error for k, i in got.items()}
    utm = got["forest/utm_s2.tif"]
    assert (
        utm.captured_at == datetime(2020, 8, 15, 10, 30, tzinfo=UTC)
        and utm.extra["date_from"] == "tiff_datetime"
    )
    # centre (500320, 5599680) of UTM 33N: 320 m east of the 15 E central meridian
    assert (utm.lat, utm.lon) == (pytest.approx(50.54905, abs=1e-4), pytest.approx(15.00452, abs=1e-4))
    assert utm.gsd_m == pytest.approx(10.0) and utm.extra["crs"] == "EPSG:32633" and utm.labels == ["forest"]
    geo = got["forest/geographic.tif"]
    assert (geo.lat, geo.lon) == (pytest.approx(59.99968, abs=1e-5), pytest.approx(10.00032, abs=1e-5))
    assert geo.gsd_m == pytest.approx(0.836, rel=1e-3) and geo.extra["crs"] == "EPSG:4326"
    assert "date_from" not in geo.extra and geo.captured_at is None  # default_year
    naip = got[f"farmland/{NAIP_NAME}.tif"]
    assert (
        naip.sensor == "NAIP"
        and naip.extra["date_from"] == "name (naip)"
        and naip.gsd_m == pytest.approx(0.6)
    )
    assert naip.lat == pytest.approx(37.92, abs=0.01) and naip.lon == pytest.approx(-77.27, abs=0.01)
    s2 = got[f"water/{S2_NAME}.tif"]
    assert s2.sensor == "Sentinel-2B" and s2.captured_at == datetime(2019, 7, 4, 10, 10, 31, tzinfo=UTC)
    landsat = got[f"urban/{LANDSAT_NAME}_SR.tif"]
    assert (
        landsat.sensor == "Landsat 8"
        and landsat.gsd_m == pytest.approx(30.0)
        and landsat.extra["crs"] == "EPSG:32610"
    )
    assert "is not YYYY:MM:DD" in got["water/bad_tag.tif"].extra["tiff_datetime_error"]
    assert got["urban/utm.jp2"].extra["crs"] == "EPSG:32633" and got["urban/utm.jp2"].lat == pytest.approx(
        50.549, abs=1e-3
    )
    plain = got["urban/plain.tif"]
    assert plain.lat is None and plain.extra == {}  # no georeferencing: nothing to explain
    assert (
        got["forest/utm_s2.tif"].content == (geo_folder / "forest/utm_s2.tif").read_bytes()
    )  # originals kept


def test_annotations_date_and_sensor_win_the_file_georeferences(geo_folder: Path, tmp_path: Path) -> None:
    index = tmp_path / "index.csv"
    index.write_text(
        "path,labels,date,lat,lon,sensor\n"
        "forest/utm_s2.tif,forest,2015-03-01,1.0,2.0,Sentinel-2A\n"
        f"farmland/{NAIP_NAME}.tif,farm,,,,\n"
    )
    source = _source(path=str(geo_folder), format="index", annotations=str(index), sensor="USDA NAIP")
    utm = _fetch(source, 2015, tmp_path)["forest/utm_s2.tif"]
    assert utm.captured_at == datetime(2015, 3, 1, tzinfo=UTC) and "date_from" not in utm.extra
    assert utm.sensor == "Sentinel-2A" and utm.lat == pytest.approx(50.549, abs=1e-3)  # the file's centre
    naip = _fetch(source, 2018, tmp_path)[f"farmland/{NAIP_NAME}.tif"]
    assert naip.sensor == "USDA NAIP"  # the source's sensor over the product name's


def test_without_the_geo_extra_geotiffs_are_still_ingested(
    geo_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rasterio", None)
    monkeypatch.setitem(sys.modules, "pyproj", None)
    got = _fetch(_source(path=str(geo_folder)), 2020, tmp_path)
    utm = got["forest/utm_s2.tif"]  # still dated from its tag: the year does not depend on the extra
    assert utm.status == "ok" and utm.content and utm.lat is None and utm.gsd_m is None
    assert "pip install 'rs_assets[geo]'" in utm.extra["georef_error"] and "crs" not in utm.extra
    plain = _fetch(_source(path=str(geo_folder)), 2010, tmp_path)["urban/plain.tif"]
    assert plain.extra == {}  # a plain TIFF is no GeoTIFF: it needs no extra


def test_geotiff_header_date_on_s3(geo_folder: Path, tmp_path: Path, s3_env: str) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="geotiles")
    s3.put_object(
        Bucket="geotiles", Key="tiles/forest/utm_s2.tif", Body=(geo_folder / "forest/utm_s2.tif").read_bytes()
    )
    got = _fetch(_source(path="s3://geotiles/tiles"), 2020, tmp_path)
    utm = got["forest/utm_s2.tif"]
    assert (
        utm.status == "ok"
        and utm.extra["date_from"] == "tiff_datetime"
        and utm.lat == pytest.approx(50.549, abs=1e-3)
    )


# -- BigEarthNet -----------------------------------------------------------------------------------------
def ben_patch(
    root: Path, name: str, skip: tuple[str, ...] = (), meta: Any = "default", seed: int = 0
) -> Path:
    """A BigEarthNet v1.0 patch folder: 12 band GeoTIFFs (10/20/60 m sizes) and the labels JSON."""
    folder = root / name
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for band in BEN_BANDS:
        if band in skip:
            continue
        size = 120 if band in ("B02", "B03", "B04", "B08") else 60 if band not in ("B01", "B09") else 20
        data = rng.integers(200, 2500, (1, size, size)).astype(np.uint16)
        if band == "B04":
            data[0, :, :60] += 4000  # the left half is red
        step = 1200 / size
        geotiff(
            folder / f"{name}_{band}.tif",
            data,
            crs="EPSG:32634",
            transform=origin(500_760, 6_500_040, step, step),
        )
    if meta == "default":
        wkt = rasterio.crs.CRS.from_epsg(32634).to_wkt()
        meta = {
            "labels": ["Coniferous forest", "Mixed forest", "Transitional woodland/shrub"],
            "coordinates": {"ulx": 500_760, "uly": 6_500_040, "lrx": 501_960, "lry": 6_498_840},
            "projection": wkt,
            "tile_source": "S2A_MSIL1C_20170613T101031_N0205_R022_T34VER_20170613T101033",
            "acquisition_date": "2017-06-13 10:10:31",
        }
    if meta is not None:
        text = meta if isinstance(meta, str) else json.dumps(meta)
        (folder / f"{name}_labels_metadata.json").write_text(text)
    return folder


@pytest.fixture
def ben(tmp_path: Path) -> Path:
    root = tmp_path / "BigEarthNet-v1.0"
    ben_patch(root, PATCH)
    ben_patch(root, "S2A_MSIL2A_20170613T101031_0_46", skip=("B03",), seed=1)
    ben_patch(root, "S2A_MSIL2A_20170613T101031_0_47", meta='{"labels": ["Pastures"', seed=2)
    ben_patch(root, "S2B_MSIL2A_20180502T093039_82_40", meta=None, skip=("B01",), seed=3)
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a patch")
    (root / "patches_with_cloud_and_shadow.csv").write_text("S2A_MSIL2A_20170613T101031_0_47\n")
    return root


def test_bigearthnet_one_record_per_patch(ben: Path, tmp_path: Path) -> None:
    source = _source("ben", format="bigearthnet", path=str(ben), default_year=2018)
    got = _fetch(source, 2017, tmp_path, "ben")
    assert sorted(got) == [PATCH, "S2A_MSIL2A_20170613T101031_0_46", "S2A_MSIL2A_20170613T101031_0_47"]
    good = got[PATCH]
    assert good.status == "ok" and good.labels == [
        "Coniferous forest",
        "Mixed forest",
        "Transitional woodland/shrub",
    ]
    assert good.captured_at == datetime(2017, 6, 13, 10, 10, 31, tzinfo=UTC) and good.sensor == "Sentinel-2A"
    # centre (501360, 6499440) in UTM 34N
    assert (good.lat, good.lon) == (pytest.approx(58.6353, abs=1e-3), pytest.approx(21.0234, abs=1e-3))
    assert good.gsd_m == 10.0 and good.extra["crs"] == "EPSG:32634" and "missing_bands" not in good.extra
    img = Image.open(io.BytesIO(good.content))
    assert (img.format, img.mode, img.size) == ("PNG", "RGB", (120, 120))
    rgb = np.asarray(img, dtype=np.int32)
    assert rgb[:, :60, 0].mean() > rgb[:, 60:, 0].mean() + 100  # B04 is the red channel
    assert good.content == _fetch(source, 2017, tmp_path, "ben")[PATCH].content  # deterministic bytes
    missing = got["S2A_MSIL2A_20170613T101031_0_46"]
    assert missing.status == "not_found" and "band B03" in missing.error and "_0_46_B03.tif" in missing.error
    broken = got["S2A_MSIL2A_20170613T101031_0_47"]
    assert (
        broken.status == "ok"
        and broken.labels == []
        and "not readable JSON" in broken.extra["annotation_error"]
    )
    assert broken.captured_at == datetime(2017, 6, 13, 10, 10, 31, tzinfo=UTC)  # from the patch name
    later = _fetch(source, 2018, tmp_path, "ben")
    no_json = later["S2B_MSIL2A_20180502T093039_82_40"]
    assert (
        no_json.status == "ok"
        and no_json.extra["missing_bands"] == ["B01"]
        and no_json.sensor == "Sentinel-2B"
    )
    assert "labels_metadata.json missing" in no_json.extra["annotation_error"] and no_json.lat is None
    assert later["notes:0"].status == "invalid_row" and "not a BigEarthNet patch" in later["notes:0"].error
    assert set(later) == {"S2B_MSIL2A_20180502T093039_82_40", "notes:0"}  # the root's CSV is no patch


def test_bigearthnet_without_the_geo_extra(
    ben: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyproj", None)
    monkeypatch.setitem(sys.modules, "rasterio", None)
    got = _fetch(_source("ben", format="bigearthnet", path=str(ben)), 2017, tmp_path, "ben")[PATCH]
    assert got.status == "ok" and got.labels[0] == "Coniferous forest" and got.lat is None
    assert "pip install" in got.extra["georef_error"] and "annotation_error" not in got.extra


# -- format: auto ----------------------------------------------------------------------------------------
DOTA_TXT = b"imagesource:GoogleEarth\ngsd:0.146\n2753 2408 2861 2385 2888 2468 2805 2502 plane 0\n"
VOC_XML = (
    b"<annotation><filename>00001.jpg</filename><object><name>ship</name><bndbox><xmin>1</xmin></bndbox>"
    b"</object></annotation>"
)
RSVG_XML = VOC_XML.replace(b"</object>", b"<description>the ship on the left</description></object>")
FAIR1M_XML = (
    b"<annotation><source><filename>0.tif</filename></source><objects><object><coordinate>pixel</coordinate>"
    b"<description>None</description><possibleresult><name>Boeing737</name></possibleresult><points>"
    b"<point>1.0,2.0</point></points></object></objects></annotation>"
)
COCO_JSON = (
    b'{"info": {}, "images": [{"id": 1, "file_name": "001.jpg", "width": 80, "height": 60}], "annotations": ['
)
KARPATHY_JSON = b'{"images": [{"filename": "airport_1.jpg", "imgid": 0, "sentences": [{"raw": "many planes"}]'
RSVQA_JSON = (
    b'{"questions": [{"id": 0, "img_id": 0, "type": "presence", "question": "A road?", "answers_ids": [0]}'
)


def test_file_signatures() -> None:
    assert txt_format(DOTA_TXT) == "dota" and txt_format(DOTA_TXT.split(b"\n", 2)[2]) == "dota"
    assert txt_format(b"0 0.5 0.5 0.2 0.1\n") == "yolo" and txt_format(b"") is None
    assert txt_format(b"(563,478),(630,573),1\n") is None  # NWPU VHR-10's own ground truth is none of them
    assert (
        xml_format(VOC_XML) == "voc" and xml_format(RSVG_XML) == "rsvg" and xml_format(FAIR1M_XML) == "fair1m"
    )
    assert xml_format(b"<svg></svg>") is None
    assert json_format(COCO_JSON) == "coco" and json_format(KARPATHY_JSON) == "karpathy"
    assert json_format(RSVQA_JSON) == "rsvqa" and json_format(b'{"type": "FeatureCollection"}') is None
    assert (
        table_format(["filepath", "title"]) == "captions_csv" and table_format(["path", "labels"]) == "index"
    )
    assert table_format(["url", "caption"]) is None


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64


@pytest.mark.parametrize(
    ("files", "expected", "updates"),
    [
        (
            {"images/P0001.png": JPEG, "labelTxt/P0001.txt": DOTA_TXT},
            "dota",
            {"annotations": "labelTxt", "images": "images"},
        ),
        (
            {"JPEGImages/00001.jpg": JPEG, "Annotations/00001.xml": VOC_XML},
            "voc",
            {"annotations": "Annotations", "images": "JPEGImages"},
        ),
        (
            {"JPEGImages/00001.jpg": JPEG, "Annotations/00001.xml": RSVG_XML},
            "rsvg",
            {"annotations": "Annotations", "images": "JPEGImages"},
        ),
        (
            {"images/0.tif": JPEG, "labelXml/0.xml": FAIR1M_XML},
            "fair1m",
            {"annotations": "labelXml", "images": "images"},
        ),
        (
            {"positive image set/001.jpg": JPEG, "annotations.json": COCO_JSON},
            "coco",
            {"annotations": "annotations.json", "images": "positive image set"},
        ),
        (
            {"RSICD_images/airport_1.jpg": JPEG, "dataset_rsicd.json": KARPATHY_JSON},
            "karpathy",
            {"annotations": "dataset_rsicd.json", "images": "RSICD_images"},
        ),
        ({"Images_LR/0.tif": JPEG, "LR_split_train_questions.json": RSVQA_JSON}, "rsvqa", {}),
        (
            {"images/a.jpg": JPEG, "SkyScript_train.csv": b"filepath,title\nimages/a.jpg,a field\n"},
            "captions_csv",
            {"annotations": "SkyScript_train.csv"},
        ),
        ({"index.csv": b"path,labels\na.jpg,forest\n", "a.jpg": JPEG}, "index", {"annotations": "index.csv"}),
        (
            {"images/a.jpg": JPEG, "labels/a.txt": b"0 0.5 0.5 0.2 0.1\n"},
            "yolo",
            {"annotations": "labels", "images": "images"},
        ),
        ({"agriculture_land/grassland/meadow/1.jpg": JPEG}, "folders", {}),
    ],
)
def test_auto_detects_the_layouts(
    tmp_path: Path, files: dict[str, bytes], expected: str, updates: dict[str, str]
) -> None:
    root = _tree(tmp_path / "data", files)
    found = detect(_source(format="auto", path=str(root)))
    assert found.format == expected, found
    paths = {k: v for k, v in found.updates.items() if k in ("images", "annotations")}
    assert paths == {k: str(root / v) for k, v in updates.items()}
    if expected in FORMATS:  # delegated to the registry as the detected format, paths filled in
        resolved, _ = resolve("geo", _source(format="auto", path=str(root)))
        assert resolved.format == expected and all(
            getattr(resolved, k) == str(root / v) for k, v in updates.items()
        )
    else:
        with pytest.raises(ValueError, match=f"recognised '{expected}'.*no '{expected}' parser"):
            resolve("geo", _source(format="auto", path=str(root)))


def test_auto_from_the_annotations_field(tmp_path: Path) -> None:
    root = _tree(tmp_path / "d", {"ann/a.xml": FAIR1M_XML, "ann/b.xml": VOC_XML, "coco.json": COCO_JSON})
    assert detect(_source(format="auto", path=str(root), annotations=str(root / "ann"))).format == "fair1m"
    assert (
        detect(_source(format="auto", path=str(root), annotations=str(root / "coco.json"))).format == "coco"
    )
    with pytest.raises(ValueError, match="match none of"):
        detect(
            _source(format="auto", path=str(root), annotations=str(_tree(root, {"x/readme.md": b"#"}) / "x"))
        )
    with pytest.raises(ValueError, match=r"nothing under .* looks like"):
        detect(_source(format="auto", path=str(_tree(tmp_path / "e", {"notes.md": b"# hi"}))))


def test_auto_runs_the_formats_it_delegates_to(ben: Path, geo_folder: Path, tmp_path: Path) -> None:
    ben_items = _fetch(_source("ben", format="auto", path=str(ben)), 2017, tmp_path, "ben")
    assert (
        ben_items[PATCH].labels[0] == "Coniferous forest"
        and ben_items[PATCH].extra["auto_format"] == "bigearthnet"
    )
    tiles = _fetch(_source(format="auto", path=str(geo_folder)), 2020, tmp_path)
    assert tiles["forest/utm_s2.tif"].extra["auto_format"] == "folders" and tiles["forest/utm_s2.tif"].lat


def test_auto_fills_the_fields_the_text_formats_read(tmp_path: Path) -> None:
    entry = {"filename": "airport_1.jpg", "imgid": 0, "split": "train", "sentences": [{"raw": "many planes"}]}
    rsicd = _tree(
        tmp_path / "RSICD",
        {
            "RSICD_images/airport_1.jpg": image_bytes(seed=1),
            "dataset_rsicd.json": json.dumps({"images": [entry]}).encode(),
        },
    )
    got = _fetch(_source("rsicd", format="auto", path=str(rsicd)), 2010, tmp_path, "rsicd")["airport_1.jpg"]
    assert (
        got.status == "ok" and got.ref_captions == ["many planes"] and got.extra["auto_format"] == "karpathy"
    )
    table = b"image,caption\nimages/a.jpg,a river through farmland\n"
    sky = _tree(tmp_path / "Sky", {"images/a.jpg": image_bytes(seed=2), "pairs.csv": table})
    source = _source("sky", format="auto", path=str(sky))
    got = _fetch(source, 2010, tmp_path, "sky")["images/a.jpg"]  # path_column/caption_column from the header
    assert got.status == "ok" and got.ref_captions == ["a river through farmland"]
    explicit = _source("sky", format="auto", path=str(sky), caption_column="image")  # the source's own wins
    assert resolve("sky", explicit)[0].caption_column == "image"


# -- Dagster: raw_scrape + filtered_pool on GeoTIFFs and BigEarthNet -----------------------------------
def test_materialize_geotiffs_and_bigearthnet(geo_folder: Path, ben: Path, tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    body = {
        "tiles": {"kind": "labeled", "path": str(geo_folder), "default_year": 2010},
        "ben": {"kind": "labeled", "format": "bigearthnet", "path": str(ben), "default_year": 2018},
    }
    sources.write_text(yaml.safe_dump({"sources": body}))
    worker = MaterializeWorker(sources, tmp_path / "home")
    lake = Lake(str(tmp_path / "home" / "lake"))
    try:
        for key in ("tiles|2020", "ben|2017"):
            answer = worker.run(key)
            assert answer["success"], answer["failures"]
            assert {k: v for k, v in answer["checks"].items() if not v} == {}, key
    finally:
        worker.close()
    raw = {r["native_id"]: r for r in lake.read_table(table_key("raw_scrape", "tiles", 2020)).to_pylist()}
    pool = {r["record_id"]: r for r in lake.read_table(table_key("filtered_pool", "tiles", 2020)).to_pylist()}
    utm = raw["forest/utm_s2.tif"]
    assert utm["lat"] == pytest.approx(50.549, abs=1e-3) and json.loads(utm["extra"])["crs"] == "EPSG:32633"
    assert (utm["image_ext"], utm["width"], utm["height"]) == ("tif", 64, 64)
    assert pool[utm["record_id"]]["kept"] and pool[utm["record_id"]]["format"] == "TIFF"
    assert lake.get_image(utm["image_id"], "tif") == (geo_folder / "forest/utm_s2.tif").read_bytes()
    thumb = np.asarray(Image.open(io.BytesIO(lake.get_thumb(utm["image_id"]))), dtype=np.int32)
    assert thumb[:, :20, 0].mean() > thumb[:, :20, 2].mean() + 100  # B04 red on the left, from its band names
    assert all(r["kept"] for r in pool.values()), [
        (r["drop_reason"], r["error_detail"]) for r in pool.values()
    ]
    ben_raw = lake.read_table(table_key("raw_scrape", "ben", 2017)).to_pylist()
    ben_pool = {
        r["record_id"]: r for r in lake.read_table(table_key("filtered_pool", "ben", 2017)).to_pylist()
    }
    statuses = {r["native_id"]: r["status"] for r in ben_raw}
    assert statuses == {
        PATCH: "ok",
        "S2A_MSIL2A_20170613T101031_0_46": "not_found",
        "S2A_MSIL2A_20170613T101031_0_47": "ok",
    }
    assert all(s in RAW_STATUSES for s in statuses.values())
    kept = {r["native_id"]: ben_pool[r["record_id"]]["kept"] for r in ben_raw}
    assert kept == {
        PATCH: True,
        "S2A_MSIL2A_20170613T101031_0_46": False,
        "S2A_MSIL2A_20170613T101031_0_47": True,
    }
