"""The lake: one API over a local folder and `s3://bucket/prefix` (DESIGN 5).

Keys are `/`-separated paths under the root. Writes are atomic: temp file + rename locally, a single
PUT on S3, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from rs_assets.lib import settings

IMAGE_EXTS = ("jpg", "png", "tif", "webp", "gif", "bmp")


class Backend(Protocol):
    def read(self, key: str) -> bytes: ...
    def write(self, key: str, data: bytes) -> None: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> Iterator[str]: ...
    def delete(self, key: str) -> None: ...
    def uri(self, key: str) -> str: ...


@dataclass(frozen=True)
class LocalBackend:
    root: Path

    def _path(self, key: str) -> Path:
        return self.root / key

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                yield path.relative_to(self.root).as_posix()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        return str(self._path(key))


@dataclass(frozen=True)
class S3Backend:
    bucket: str
    prefix: str
    client: Any  # a boto3 S3 client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def list(self, prefix: str) -> Iterator[str]:
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            for obj in page.get("Contents", []):
                yield obj["Key"][strip:]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"


def read_parquet(source: Any, columns: list[str] | None = None) -> pa.Table:
    """A whole Parquet file read without Arrow's thread pools (see `Lake.read_table`); a requested
    column the file lacks is an error (ParquetFile.read would silently leave it out)."""
    reader = pq.ParquetFile(source, pre_buffer=False)
    missing = sorted(set(columns or []) - set(reader.schema_arrow.names))
    if missing:
        raise pa.ArrowInvalid(f"no column {missing} in the file")
    return reader.read(columns=columns, use_threads=False)


class UnreadableTable(ValueError):
    """A lake Parquet file that exists but cannot be read; pyarrow's own message names no file."""


def s3_client() -> Any:
    """A boto3 S3 client; boto3 reads `AWS_*` itself, `AWS_ENDPOINT_URL` included (MinIO, moto)."""
    import boto3

    return boto3.client("s3", endpoint_url=settings.aws_endpoint_url())


def check_root(root: str) -> None:
    """Raise for a lake root that cannot work (an `s3://` URL without a bucket)."""
    if root.startswith("s3://"):
        split_s3(root)


def split_s3(root: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket/prefix`; a root without a bucket is a configuration error."""
    bucket, _, prefix = root[5:].partition("/")
    if not bucket:
        raise ValueError(f"lake root {root!r} names no bucket: use s3://<bucket>[/<prefix>] (RS_ASSETS_LAKE)")
    return bucket, prefix.strip("/")


def filesystem(path: str) -> fsspec.AbstractFileSystem:
    """An fsspec filesystem for a local path or `s3://` URL (same endpoint as the Lake's client). The
    instance cache is skipped so a re-run sees objects written since the last one."""
    if path.startswith("s3://"):
        return fsspec.filesystem("s3", endpoint_url=settings.aws_endpoint_url(), skip_instance_cache=True)
    return fsspec.filesystem("file")


def content_hash(table: pa.Table) -> str:
    """sha256 (16 hex) of a table's schema and values, without its key-value metadata: the same data
    written by another run (another run id in the file) has the same hash."""
    sink = pa.BufferOutputStream()
    plain = table.replace_schema_metadata(None).combine_chunks()
    with pa.ipc.new_stream(sink, plain.schema) as writer:
        writer.write_table(plain)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:16]


def table_key(asset: str, source: str | None = None, year: int | str | None = None) -> str:
    """`tables/<asset>/source=<s>/year=<y>/part-0.parquet`, or `tables/<asset>/part-0.parquet` if global."""
    if source is None:
        return f"tables/{asset}/part-0.parquet"
    return f"tables/{asset}/source={source}/year={year}/part-0.parquet"


def image_key(image_id: str, ext: str) -> str:
    return f"images/{image_id[:2]}/{image_id}.{ext}"


def thumb_key(image_id: str) -> str:
    return f"thumbs/{image_id[:2]}/{image_id}.jpg"


def contact_sheet_key(asset: str, source: str, year: int | str) -> str:
    """`contact_sheets/<asset>/source=<s>/year=<y>.jpg`: the partition's contact sheet (a preview)."""
    return f"contact_sheets/{asset}/source={source}/year={year}.jpg"


class Lake:
    """Parquet tables, content-addressed images and thumbnails under one root."""

    def __init__(self, root: str, client: Any | None = None) -> None:
        self.root = root if root == "s3://" else root.rstrip("/")
        if self.root.startswith("s3://"):
            bucket, prefix = split_s3(self.root)
            self.backend: Backend = S3Backend(bucket, prefix, client or s3_client())
        else:
            self.backend = LocalBackend(Path(self.root).expanduser().resolve())

    @property
    def is_s3(self) -> bool:
        return isinstance(self.backend, S3Backend)

    def uri(self, key: str) -> str:
        return self.backend.uri(key)

    # -- tables -------------------------------------------------------------------------------
    def write_table(self, key: str, table: pa.Table, metadata: Mapping[str, str]) -> int:
        """Write one Parquet file atomically with key-value metadata; returns its size in bytes."""
        merged = dict(table.schema.metadata or {})
        merged.update({k.encode(): str(v).encode() for k, v in metadata.items()})
        buf = io.BytesIO()
        pq.write_table(table.replace_schema_metadata(merged), buf, compression="zstd")
        data = buf.getvalue()
        self.backend.write(key, data)
        return len(data)

    def read_table(self, key: str, columns: list[str] | None = None) -> pa.Table:
        """One Parquet file; UnreadableTable naming it when it is truncated or corrupt.

        Read synchronously on the calling thread (`read_parquet`): Arrow's async reader can drop its
        last reference to the Python-owned buffer on a worker thread while the interpreter exits,
        which aborts a finished run or CLI command ("terminate called without an active exception",
        exit 134; apache/arrow#34314).
        """
        data = self.backend.read(key)
        try:
            return read_parquet(pa.BufferReader(data), columns)
        except (pa.ArrowException, OSError) as exc:  # ArrowInvalid is a ValueError, ArrowIOError an OSError
            raise UnreadableTable(
                f"{self.uri(key)}: unreadable Parquet ({type(exc).__name__}: {exc}); "
                "rematerialise the partition that wrote it"
            ) from exc

    def has(self, key: str) -> bool:
        return self.backend.exists(key)

    def table_keys(self, asset: str) -> list[str]:
        """Every partition file of an asset, sorted (so readers are order-independent)."""
        return sorted(k for k in self.backend.list(f"tables/{asset}/") if k.endswith(".parquet"))

    def read_all(self, asset: str, columns: list[str] | None = None) -> pa.Table | None:
        """All partitions of an asset concatenated, or None when nothing was written yet."""
        tables = [self.read_table(k, columns) for k in self.table_keys(asset)]
        if not tables:
            return None
        return pa.concat_tables(tables, promote_options="permissive")

    # -- images -------------------------------------------------------------------------------
    def put_image(self, image_id: str, ext: str, content: bytes) -> bool:
        """Store original bytes once; returns False when the content address already existed."""
        key = image_key(image_id, ext)
        if self.backend.exists(key):
            return False
        self.backend.write(key, content)
        return True

    def get_image(self, image_id: str, ext: str) -> bytes:
        return self.backend.read(image_key(image_id, ext))

    def put_thumb(self, image_id: str, jpeg: bytes) -> None:
        self.backend.write(thumb_key(image_id), jpeg)

    def get_thumb(self, image_id: str) -> bytes:
        return self.backend.read(thumb_key(image_id))

    def has_thumb(self, image_id: str) -> bool:
        return self.backend.exists(thumb_key(image_id))

    def thumb_or_none(self, image_id: str) -> bytes | None:
        """The thumbnail, or None when none was made (an image that failed to decode)."""
        return self.get_thumb(image_id) if self.has_thumb(image_id) else None

    # -- blobs (caches, state, exports) --------------------------------------------------------
    def read_bytes(self, key: str) -> bytes:
        return self.backend.read(key)

    def write_bytes(self, key: str, data: bytes) -> None:
        self.backend.write(key, data)

    def list(self, prefix: str) -> list[str]:
        return list(self.backend.list(prefix))

    def link_prefix(self, alias: str, target: str) -> None:
        """Make `alias/` show the files of `target/`: locally a relative symlink swapped in atomically
        (readers see the old or the new folder, never a mix; a real folder there is kept as
        `<alias>.unversioned`); on S3, which has no links, a copy of the objects (and the alias's stale
        ones deleted)."""
        if isinstance(self.backend, LocalBackend):
            link = self.backend.root / alias
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_dir() and not link.is_symlink():  # an unversioned release of older code: keep it
                os.replace(link, link.with_name(f"{link.name}.unversioned"))
            tmp = link.with_name(f".{link.name}.tmp")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(os.path.relpath(self.backend.root / target, link.parent), target_is_directory=True)
            os.replace(tmp, link)
            return
        keep = set()
        for key in self.list(f"{target}/"):
            copy = f"{alias}/{key[len(target) + 1 :]}"
            self.write_bytes(copy, self.read_bytes(key))
            keep.add(copy)
        for key in self.list(f"{alias}/"):
            if key not in keep:
                self.delete(key)

    def delete(self, key: str) -> None:
        self.backend.delete(key)
