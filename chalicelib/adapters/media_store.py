"""The media bucket (S3): presigned PUTs and GETs, what an object is, storing bytes.

Objects are private; nobody reaches them but through a presigned URL, which is
signed with the function's own credentials and names one object, one method and
how long it lasts. The bucket is MEDIA_BUCKET (infra/resources.py makes it).
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from chalicelib.adapters import aws
from chalicelib.config import media_settings


@dataclass(frozen=True)
class StoredObject:
    key: str
    content_type: str
    size: int


def _bucket() -> str:
    return media_settings().bucket


def presign_put(key: str, content_type: str, size: int, ttl_seconds: int) -> str:
    """A URL that takes exactly one PUT of `size` bytes of `content_type` to `key`
    (both headers are signed, so an upload of another type or size is refused)."""
    return aws.client("s3").generate_presigned_url(
        "put_object",
        Params={"Bucket": _bucket(), "Key": key, "ContentType": content_type, "ContentLength": size},
        ExpiresIn=ttl_seconds,
    )


def presign_get(key: str, ttl_seconds: int, method: str = "GET") -> str:
    """A URL for one GET (or, method="HEAD", one HEAD: S3 signs the method too)."""
    operation = "head_object" if method == "HEAD" else "get_object"
    return aws.client("s3").generate_presigned_url(
        operation, Params={"Bucket": _bucket(), "Key": key}, ExpiresIn=ttl_seconds
    )


def head(key: str) -> StoredObject | None:
    """The object's type and size as S3 keeps them; None when there is none."""
    try:
        answer = aws.client("s3").head_object(Bucket=_bucket(), Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return StoredObject(key, answer.get("ContentType") or "application/octet-stream", int(answer["ContentLength"]))


def put(key: str, body: bytes, content_type: str) -> StoredObject:
    aws.client("s3").put_object(Bucket=_bucket(), Key=key, Body=body, ContentType=content_type)
    return StoredObject(key, content_type, len(body))
