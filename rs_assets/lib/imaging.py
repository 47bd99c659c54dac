"""One reduced-size decode per image: thumbnail, pHash, geometry and blank scores (DESIGN 5, 9).

JPEG decoding is the CPU floor, so JPEGs are decoded with `Image.draft()` (libjpeg's DCT-domain
scaling by 1/2, 1/4 or 1/8) straight to >= the 256-px thumbnail size; everything else (thumbnail,
pHash, blank scores) is computed from that small image. Other formats decode once at full size.
Multi-band / 16-bit TIFFs (GeoTIFF) that Pillow cannot read, or would truncate to their high byte,
go through a small numpy strip/tile reader (uncompressed or deflate) that keeps only every k-th
pixel of the three bands of the RGB composite (`geo.bands`: by band name, else by sensor: Sentinel-2
B04/B03/B02, Landsat B4/B3/B2, NAIP 1-3, never the near-infrared band as alpha), so memory stays near
thumbnail size; other compressions (LZW, JPEG) are decoded by GDAL when the `geo` extra is installed.

Truncated files stay errors (`ImageFile.LOAD_TRUNCATED_IMAGES` is never set). Sizes are checked from
the header before any pixel is allocated (decompression-bomb guard).
"""

from __future__ import annotations

import io
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, TiffImagePlugin, UnidentifiedImageError

from rs_assets.lib.geo.bands import Bands, rgb_bands
from rs_assets.lib.geo.reader import read_bands
from rs_assets.lib.geo.stretch import percentile_stretch
from rs_assets.lib.geo.tiff_tags import TIFF_MAGIC, band_descriptions, read_ifd

THUMB_SIZE = 256
NEAREST_MAX_FACTOR = 1.25
THUMB_QUALITY = 85
# Pillow itself refuses images above 2 * MAX_IMAGE_PIXELS (~179 MP), so that is the default; a
# larger `max_pixels` also needs `PIL.Image.MAX_IMAGE_PIXELS` raised.
DEFAULT_MAX_PIXELS = 2 * (Image.MAX_IMAGE_PIXELS or 89_478_485)

_ORIENT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
# rows 0..7 of the 32-point DCT-II basis: the 8x8 low-frequency block is _DCT8 @ X @ _DCT8.T
_DCT8 = np.cos(np.pi / 64 * np.outer(np.arange(8), 2 * np.arange(32) + 1))
_LEVELS = np.arange(256, dtype=np.float64)  # grey levels, for moments of a histogram
_LANCZOS = Image.Resampling.LANCZOS


@dataclass(frozen=True)
class ImageAssessment:
    """What the pool needs from one image. `error` is a drop reason (`decode_error`,
    `decompression_bomb`) or None; width/height/format/mode are the original's (header) values."""

    error: str | None = None
    detail: str | None = None
    format: str | None = None
    mode: str | None = None
    width: int | None = None
    height: int | None = None
    thumb: bytes | None = None
    phash: int | None = None
    pixel_std: float | None = None
    zero_fraction: float | None = None


class _Unsupported(Exception):
    """A TIFF layout the numpy reader does not handle (Pillow's result is used instead, if any)."""


def phash(gray: Image.Image) -> int:
    """64-bit DCT pHash, bit-compatible with `imagehash.phash` (32x32 LANCZOS, 8x8 block > median,
    row-major, first coefficient = most significant bit)."""
    px = np.asarray((gray if gray.mode == "L" else gray.convert("L")).resize((32, 32), _LANCZOS), np.float64)
    low = (_DCT8 @ px @ _DCT8.T).ravel()
    ranked = np.sort(low)
    median = (ranked[31] + ranked[32]) / 2  # what np.median does for 64 values, without its overhead
    return int.from_bytes(np.packbits(low > median).tobytes(), "big")


def _fit(width: int, height: int, limit: int) -> tuple[int, int]:
    scale = min(1.0, limit / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _stretch(bands: np.ndarray, linear: bool) -> np.ndarray:
    """(h, w, k) high-bit-depth values -> uint8: `linear` keeps the high byte (16-bit PNG), otherwise a
    per-band percentile stretch (GeoTIFF reflectances rarely use the full 16-bit range)."""
    if linear:
        return (bands.astype(np.uint32) >> 8).astype(np.uint8)
    return percentile_stretch(bands)


def _from_bands(bands: np.ndarray, linear: bool) -> tuple[Image.Image, float]:
    """RGB image and exact-zero (no-data) fraction from (h, w, k) values, k = 1..3."""
    zero_fraction = float((bands == 0).all(axis=2).mean())
    eight = bands if bands.dtype == np.uint8 else _stretch(bands, linear)
    rgb = np.repeat(eight[..., :1], 3, axis=2) if eight.shape[2] < 3 else eight[..., :3]
    return Image.fromarray(np.ascontiguousarray(rgb), "RGB"), zero_fraction


def _step(width: int, height: int, thumb_size: int) -> int:
    return max(1, max(width, height) // (2 * thumb_size))


def _tiff_needs_numpy(ifd: TiffImagePlugin.ImageFileDirectory_v2, bands: Bands) -> bool:
    """Several samples above 8 bits (Pillow would keep only the high byte, or refuse > 4 bands), more
    than three (Pillow would read a fourth, near-infrared band as alpha), or the composite is not the
    first three bands."""
    bits = ifd.get(258, (1,))
    samples = int(ifd.get(277, 1))
    high = samples >= 2 and int(bits[0] if isinstance(bits, tuple) else bits) > 8
    return high or samples > 3 or bands not in ((0,), (0, 1, 2))


def _tiff_bands(
    content: bytes, ifd: TiffImagePlugin.ImageFileDirectory_v2, step: int, bands: Bands
) -> np.ndarray:
    """Every `step`-th pixel of `bands` (0-based) of a stripped or tiled TIFF, (h', w', len(bands))."""
    width, height, spp = int(ifd[256]), int(ifd[257]), int(ifd.get(277, 1))
    bits = ifd.get(258, (8,))
    bits = int(bits[0] if isinstance(bits, tuple) else bits)
    kind = {1: "u", 2: "i", 3: "f"}.get(int((ifd.get(339) or (1,))[0]))
    compression, predictor, planar = int(ifd.get(259, 1)), int(ifd.get(317, 1)), int(ifd.get(284, 1))
    if kind is None or bits not in (8, 16, 32) or compression not in (1, 8, 32946) or predictor not in (1, 2):
        raise _Unsupported(f"TIFF compression={compression} predictor={predictor} bits={bits}")
    stored = np.dtype(f"{kind}{bits // 8}").newbyteorder("<" if content[:2] == b"II" else ">")
    native = stored.newbyteorder("=")
    if 322 in ifd:
        tile_w, tile_h, offsets, counts = int(ifd[322]), int(ifd[323]), ifd[324], ifd[325]
    else:
        tile_w, tile_h, offsets, counts = width, int(ifd.get(278, height)), ifd[273], ifd[279]
    if max(bands) >= spp:
        raise _Unsupported(f"band {max(bands) + 1} of a {spp}-band TIFF")
    across, down = -(-width // tile_w), -(-height // tile_h)
    out = np.zeros((-(-height // step), -(-width // step), len(bands)), native)
    view = memoryview(content)
    for slot, plane in enumerate(bands if planar == 2 else (0,)):
        samples = 1 if planar == 2 else spp
        for k in range(across * down):
            at = plane * across * down + k
            raw = view[offsets[at] : offsets[at] + counts[at]]
            data = zlib.decompress(raw) if compression != 1 else raw
            rows = min(tile_h, len(data) // (tile_w * samples * stored.itemsize))
            tile = np.frombuffer(data, stored, count=rows * tile_w * samples).reshape(rows, tile_w, samples)
            tile = tile.astype(native)
            if predictor == 2:
                tile = np.cumsum(tile, axis=1, dtype=native)
            y0, x0 = (k // across) * tile_h, (k % across) * tile_w
            ys = range(-(-y0 // step) * step, min(y0 + rows, height), step)
            xs = range(-(-x0 // step) * step, min(x0 + tile_w, width), step)
            if not ys or not xs:
                continue
            block = tile[ys[0] - y0 :: step, xs[0] - x0 :: step][: len(ys), : len(xs)]
            target = out[ys[0] // step : ys[0] // step + len(ys), xs[0] // step : xs[0] // step + len(xs)]
            if planar == 2:
                target[..., slot] = block[..., 0]
            else:
                target[...] = block[..., list(bands)]
    return out


def _tiff_values(
    content: bytes, ifd: TiffImagePlugin.ImageFileDirectory_v2, step: int, bands: Bands
) -> np.ndarray:
    """`_tiff_bands`, else GDAL's decode (`geo` extra) for layouts it does not handle; _Unsupported
    naming both reasons when neither can."""
    try:
        return _tiff_bands(content, ifd, step, bands)
    except _Unsupported as exc:
        try:
            return read_bands(content, bands, step)
        except ValueError as why:
            raise _Unsupported(f"{exc}; {why}") from None


def band_array(content: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Full-resolution values of the first band of a raster, (h, w) in its own dtype: the numpy TIFF
    reader, else GDAL (`geo` extra), else Pillow. ValueError naming the reason when it cannot (no
    image, above `max_pixels`, an undecodable layout). Builds composites of per-band files (BigEarthNet)."""
    try:
        if content[:4] in TIFF_MAGIC:
            ifd = read_ifd(io.BytesIO(content))
            width, height = int(ifd[256]), int(ifd[257])
            if width * height > max_pixels:
                raise ValueError(f"{width}x{height} px > max_pixels {max_pixels}")
            try:
                return _tiff_values(content, ifd, 1, (0,))[..., 0]
            except _Unsupported:
                pass  # Pillow's libtiff decoders (LZW, PackBits) may still read it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # max_pixels decides
            with Image.open(io.BytesIO(content)) as img:
                if img.width * img.height > max_pixels:
                    raise ValueError(f"{img.width}x{img.height} px > max_pixels {max_pixels}")
                values = np.asarray(img)
        return values if values.ndim == 2 else values[..., 0]
    except ValueError:
        raise
    except Exception as exc:  # a corrupt file can raise almost anything from a decoder
        raise ValueError(f"undecodable band: {type(exc).__name__}: {exc}"[:300]) from None


def _pillow_rgb(img: Image.Image, thumb_size: int) -> tuple[Image.Image, float | None]:
    """Decoded, 8-bit RGB version of an opened image; zero fraction when measured on source values."""
    if img.format == "JPEG":
        img.draft(None, _fit(img.width, img.height, thumb_size))  # DCT-domain 1/2, 1/4, 1/8
    img.load()
    if img.mode in _HIGH_BIT_MODES:
        step = _step(img.width, img.height, thumb_size)
        values = np.asarray(img)[::step, ::step, None]
        return _from_bands(values, linear=img.format == "PNG" and img.mode.startswith("I;16"))
    return (img if img.mode == "RGB" else img.convert("RGB")), None


def _finish(
    rgb: Image.Image, zero_fraction: float | None, orientation: int, thumb_size: int, **header: object
) -> ImageAssessment:
    # after draft() (DCT-domain area reduction) the factor left is < 2. Below NEAREST_MAX_FACTOR the
    # image is already low-passed for its size and nearest sampling (10x cheaper than BOX, the largest
    # per-image cost after the decode) skips at most one row in five; above it, an area average.
    factor = max(rgb.size) / thumb_size
    rgb.thumbnail(
        (thumb_size, thumb_size),
        Image.Resampling.NEAREST if factor < NEAREST_MAX_FACTOR else Image.Resampling.BOX,
    )
    if orientation in _ORIENT:
        rgb = rgb.transpose(_ORIENT[orientation])
    gray = rgb.convert("L")
    hist = np.asarray(gray.histogram(), dtype=np.float64)  # C-side counts: std and zeros without arrays
    total = hist.sum()
    mean = (hist @ _LEVELS) / total
    pixel_std = float(np.sqrt(max(0.0, (hist @ (_LEVELS - mean) ** 2) / total)))
    if zero_fraction is None:  # 8-bit sources: grey level 0 (all bands ~0) in the thumbnail
        zero_fraction = float(hist[0] / total)
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", quality=THUMB_QUALITY)
    return ImageAssessment(
        thumb=buf.getvalue(), phash=phash(gray), zero_fraction=zero_fraction, pixel_std=pixel_std, **header
    )


def _bomb(width: int, height: int, max_pixels: int, **header: object) -> ImageAssessment | None:
    if width * height > max_pixels:
        return ImageAssessment(
            error="decompression_bomb",
            width=width,
            height=height,
            **header,
            detail=f"{width}x{height} = {width * height} px > {max_pixels}",
        )
    return None


def assess_image(
    content: bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    thumb_size: int = THUMB_SIZE,
    sensor: str | None = None,
) -> ImageAssessment:
    """Decode `content` once at reduced size; never raises for bad input (the error is returned).
    `sensor` (the record's) picks a multiband raster's RGB bands when the file does not name them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit decides
            return _assess(content, max_pixels, thumb_size, sensor)
    except Image.DecompressionBombError as exc:
        return ImageAssessment(error="decompression_bomb", detail=str(exc))
    except Exception as exc:  # a corrupt file can raise almost anything from a decoder
        return ImageAssessment(error="decode_error", detail=f"{type(exc).__name__}: {exc}"[:300])


def _assess(content: bytes, max_pixels: int, thumb_size: int, sensor: str | None) -> ImageAssessment:
    try:
        img: Image.Image | None = Image.open(io.BytesIO(content))
    except UnidentifiedImageError:
        if content[:4] not in TIFF_MAGIC:
            raise
        img = None  # e.g. a 13-band GeoTIFF: Pillow has no mode for it, the numpy reader may
    if img is None or img.format == "TIFF":
        ifd = read_ifd(io.BytesIO(content))
        width, height = int(ifd[256]), int(ifd[257])
        header = {
            "format": "TIFF",
            "mode": img.mode if img else f"{ifd.get(277, 1)}x{ifd.get(258)}",
            "width": width,
            "height": height,
        }
        if bomb := _bomb(width, height, max_pixels, format="TIFF", mode=header["mode"]):
            return bomb
        orientation = int(ifd.get(274, 1))
        bands = rgb_bands(int(ifd.get(277, 1)), sensor, band_descriptions(ifd))
        if img is None or _tiff_needs_numpy(ifd, bands):
            try:
                values = _tiff_values(content, ifd, _step(width, height, thumb_size), bands)
                return _finish(*_from_bands(values, linear=False), orientation, thumb_size, **header)
            except _Unsupported:
                if img is None:
                    raise
        return _finish(*_pillow_rgb(img, thumb_size), orientation, thumb_size, **header)
    header = {"format": img.format, "mode": img.mode, "width": img.width, "height": img.height}
    if bomb := _bomb(img.width, img.height, max_pixels, format=img.format, mode=img.mode):
        return bomb
    orientation = int(img.getexif().get(0x0112, 1))
    return _finish(*_pillow_rgb(img, thumb_size), orientation, thumb_size, **header)
