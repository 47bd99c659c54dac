"""Is it an image? Declared content types and magic bytes, shared by the HTTP and file connectors."""

from __future__ import annotations

_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"GIF87a", "gif"),
    (0, b"GIF89a", "gif"),
    (0, b"II*\x00", "tiff"),
    (0, b"MM\x00*", "tiff"),
    (0, b"II+\x00", "tiff"),  # BigTIFF (large GeoTIFF scenes)
    (0, b"MM\x00+", "tiff"),
    (0, b"BM", "bmp"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "jp2"),  # JPEG 2000 (Sentinel-2 L1C/L2A tiles)
    (0, b"\xff\x4f\xff\x51", "j2k"),
    (8, b"WEBP", "webp"),
    (4, b"ftypavif", "avif"),
    (4, b"ftypheic", "heic"),
)
SNIFF_BYTES = 32
_IMAGE_LIKE_TYPES = ("application/octet-stream", "binary/octet-stream")


def image_format(head: bytes) -> str | None:
    """Format named by the first bytes of a file, or None when no raster magic matches."""
    for offset, magic, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None


def looks_like_markup(head: bytes) -> bool:
    """HTML/XML/JSON error pages served under an image URL (soft 404s, paywalls, CDN errors)."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"<", b"{")


def declared_image(content_type: str | None) -> bool:
    """Whether a Content-Type may carry a raster image: image/* but SVG (markup, scripts), octet-stream,
    or absent (then only the bytes decide)."""
    if not content_type:
        return True
    mime = content_type.split(";", 1)[0].strip().lower()
    return (mime.startswith("image/") and "svg" not in mime) or mime in _IMAGE_LIKE_TYPES
