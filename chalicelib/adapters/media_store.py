"""The media bucket (S3): presigned PUTs and GETs, what an object is, storing bytes.

Objects are private; nobody reaches them but through a presigned URL, which is
signed with the function's own credentials and names one object, one method and
how long it lasts. The bucket is MEDIA_BUCKET (infra/resources.py makes it). `MediaStore` is
the context's `media_store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters import aws
from chalicelib.config import Settings


@dataclass(frozen=True)
class StoredObject:
    key: str
    content_type: str
    size: int


class MediaStore:
    """The media bucket over an S3 client: `s3`, or (None) the process's own (adapters/aws.py)."""

    def __init__(self, bucket: str, s3: Any = None):
        self.bucket = bucket
        self._s3 = s3

    def configure(self, settings: Settings) -> None:
        self.bucket = settings.media.bucket

    @property
    def s3(self) -> Any:
        return self._s3 if self._s3 is not None else aws.client("s3")

    def presign_put(self, key: str, content_type: str, size: int, ttl_seconds: int) -> str:
        """A URL that takes exactly one PUT of `size` bytes of `content_type` to `key`
        (both headers are signed, so an upload of another type or size is refused)."""
        return self.s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type, "ContentLength": size},
            ExpiresIn=ttl_seconds,
        )

    def presign_get(self, key: str, ttl_seconds: int, method: str = "GET") -> str:
        """A URL for one GET (or, method="HEAD", one HEAD: S3 signs the method too)."""
        operation = "head_object" if method == "HEAD" else "get_object"
        return self.s3.generate_presigned_url(
            operation, Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=ttl_seconds
        )

    def head(self, key: str) -> StoredObject | None:
        """The object's type and size as S3 keeps them; None when there is none."""
        try:
            answer = self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return StoredObject(key, answer.get("ContentType") or "application/octet-stream", int(answer["ContentLength"]))

    def put(self, key: str, body: bytes, content_type: str) -> StoredObject:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        return StoredObject(key, content_type, len(body))
