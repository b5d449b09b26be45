"""An S3 bucket (AWS, or any S3-compatible server: MinIO, Ceph, Garage...) as the object store.

OPENPROCTOR_STORAGE_URL=s3://bucket/prefix; the endpoint and credentials come from
OPENPROCTOR_S3_* or, when those are empty, from boto3's usual sources (AWS_* variables,
~/.aws, instance roles). The bucket is not created here: it is checked once, when the store
opens, so a missing bucket or wrong credentials stop the server at start with one message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from openproctor.storage.base import (
    S3Options,
    StorageError,
    StorageFull,
    StoredBlob,
    Writable,
    check_key,
    describe,
)

# S3's DeleteObjects takes at most this many keys per request.
DELETE_BATCH = 1000
MAX_PRESIGN_S = 7 * 24 * 3600
# Bytes read at a time when an object is streamed to a file (backups).
STREAM_CHUNK = 1 << 20
# Uploads from a file go in 8 MiB parts, 4 at a time, and at most 4 parts are read ahead
# (boto3 reads 10 ahead and sends 10 at a time by default): memory stays the same whatever
# the object's size.
UPLOAD_TRANSFER = TransferConfig(
    multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=4
)
UPLOAD_TRANSFER.max_in_memory_upload_chunks = 4  # not a parameter of boto3's constructor
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
# What MinIO answers a write with when its drives are full or a bucket quota is reached.
_FULL = frozenset({"XMinioStorageFull", "XMinioAdminBucketQuotaExceeded"})


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Store:
    def __init__(self, bucket: str, prefix: str, options: S3Options) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.location = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.endpoint = options.endpoint_url or "AWS"
        config = Config(
            signature_version="s3v4",
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=32,
            # S3-compatible servers want path-style URLs, and not all of them take the
            # checksums newer boto3 adds to every request.
            s3={"addressing_style": "path"} if options.endpoint_url else {},
            request_checksum_calculation="when_required" if options.endpoint_url else None,
            response_checksum_validation="when_required" if options.endpoint_url else None,
        )
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=options.endpoint_url,
            region_name=options.region or "us-east-1",
            aws_access_key_id=options.access_key_id,
            aws_secret_access_key=options.secret_access_key,
            config=config,
        )
        self._check_bucket()

    def _check_bucket(self) -> None:
        where = f"S3 bucket {self.bucket!r} at {self.endpoint}"
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            code = _code(error)
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise StorageError(
                    f"{where} does not exist: create it (the server does not create buckets) "
                    "or fix OPENPROCTOR_STORAGE_URL"
                ) from None
            if code in ("403", "AccessDenied", "Forbidden"):
                raise StorageError(
                    f"{where}: access denied; check OPENPROCTOR_S3_ACCESS_KEY_ID / "
                    "OPENPROCTOR_S3_SECRET_ACCESS_KEY (or AWS_*) and the bucket's policy"
                ) from None
            raise StorageError(f"{where}: {error}") from None
        except BotoCoreError as error:
            raise StorageError(f"{where} cannot be reached: {error}") from None

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        try:
            yield
        except ClientError as error:
            message = f"cannot {action} {key!r} in {self.location}: {error}"
            raise (StorageFull if _code(error) in _FULL else StorageError)(message) from None
        except BotoCoreError as error:
            raise StorageError(f"cannot {action} {key!r} in {self.location}: {error}") from None

    def put(self, key: str, data: bytes, content_type: str) -> StoredBlob:
        full = self._key(key)
        with self._errors("store", key):
            self._client.put_object(
                Bucket=self.bucket, Key=full, Body=data, ContentType=content_type
            )
        return describe(key, data, content_type)

    def get(self, key: str) -> bytes:
        full = self._key(key)
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=full)
            data: bytes = response["Body"].read()
        except ClientError as error:
            if _code(error) in _MISSING:
                raise StorageError(f"no object {key!r} in {self.location}") from None
            raise StorageError(f"cannot read {key!r} in {self.location}: {error}") from None
        except BotoCoreError as error:
            raise StorageError(f"cannot read {key!r} in {self.location}: {error}") from None
        return data

    def upload(self, key: str, source: BinaryIO, content_type: str) -> None:
        full = self._key(key)
        with self._errors("store", key):
            self._client.upload_fileobj(
                source,
                self.bucket,
                full,
                ExtraArgs={"ContentType": content_type},
                Config=UPLOAD_TRANSFER,
            )

    def download(self, key: str, target: Writable) -> str | None:
        full = self._key(key)
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=full)
            for chunk in response["Body"].iter_chunks(STREAM_CHUNK):
                target.write(chunk)
        except ClientError as error:
            if _code(error) in _MISSING:
                raise StorageError(f"no object {key!r} in {self.location}") from None
            raise StorageError(f"cannot read {key!r} in {self.location}: {error}") from None
        except BotoCoreError as error:
            raise StorageError(f"cannot read {key!r} in {self.location}: {error}") from None
        content_type: str | None = response.get("ContentType")
        return content_type

    def list_keys(self) -> Iterator[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        )
        with self._errors("list", start or "/"):
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"][len(start) :]

    def delete(self, key: str) -> None:
        full = self._key(key)
        with self._errors("delete", key):
            self._client.delete_object(Bucket=self.bucket, Key=full)

    def delete_many(self, keys: Iterable[str]) -> int:
        full = [self._key(key) for key in keys]
        for start in range(0, len(full), DELETE_BATCH):
            batch = full[start : start + DELETE_BATCH]
            with self._errors("delete", batch[0]):
                response = self._client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise StorageError(
                    f"cannot delete {len(errors)} object(s) in {self.location}, e.g. "
                    f"{first.get('Key')!r}: {first.get('Code')} {first.get('Message', '')}"
                )
        return len(full)

    def exists(self, key: str) -> bool:
        full = self._key(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=full)
        except ClientError as error:
            if _code(error) in _MISSING:
                return False
            raise StorageError(f"cannot look up {key!r} in {self.location}: {error}") from None
        except BotoCoreError as error:
            raise StorageError(f"cannot look up {key!r} in {self.location}: {error}") from None
        return True

    def local_path(self, key: str) -> Path | None:
        check_key(key)
        return None

    def presigned_url(
        self, key: str, expires_s: int, *, content_type: str, disposition: str
    ) -> str | None:
        if not 1 <= expires_s <= MAX_PRESIGN_S:
            raise StorageError(f"a presigned URL lasts 1 s to 7 days, not {expires_s} s")
        full = self._key(key)
        with self._errors("sign a URL for", key):
            url: str = self._client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": full,
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": disposition,
                },
                ExpiresIn=expires_s,
            )
        return url

    def free_bytes(self) -> int | None:
        return None
