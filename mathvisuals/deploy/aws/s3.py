"""S3: the artefact bucket, its objects and the environment lock object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from botocore.exceptions import (
    ClientError,
)

from mathvisuals.deploy.aws.base import (
    DENIED_CODES,
    Backoff,
    Gateway,
    error_code,
    http_status,
    tag_list,
)


class AwsArtifacts(Gateway):
    service = "s3"

    def __init__(self, client: Any, *, backoff: Backoff | None = None) -> None:  # S3 client
        super().__init__(backoff=backoff)
        self._client = client

    def bucket_region(self, bucket: str) -> str | None:
        try:
            found = self._raw(
                "GetBucketLocation", lambda: self._client.get_bucket_location(Bucket=bucket)
            )
        except ClientError as exc:
            if error_code(exc) == "NoSuchBucket":
                return None
            if error_code(exc) not in DENIED_CODES and http_status(exc) != 403:
                raise self._error("GetBucketLocation", exc) from exc
            return self._head_bucket_region(bucket)
        # us-east-1 answers None (or ""), and the oldest buckets in eu-west-1 answer "EU".
        location = found.get("LocationConstraint") or "us-east-1"
        return "eu-west-1" if location == "EU" else str(location)

    def _head_bucket_region(self, bucket: str) -> str | None:
        # HeadBucket names the region in a header even when it answers 403 or 301.
        try:
            found = self._raw("HeadBucket", lambda: self._client.head_bucket(Bucket=bucket))
        except ClientError as exc:
            if http_status(exc) == 404:
                return None
            headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            if "x-amz-bucket-region" in headers:
                return str(headers["x-amz-bucket-region"])
            raise self._error("HeadBucket", exc) from exc
        headers = found.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        region = found.get("BucketRegion") or headers.get("x-amz-bucket-region")
        return str(region) if region else None

    def create_bucket(self, bucket: str, region: str, tags: Mapping[str, str]) -> None:
        # us-east-1 refuses an explicit LocationConstraint.
        extra: dict[str, Any] = (
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        try:
            self._raw("CreateBucket", lambda: self._client.create_bucket(Bucket=bucket, **extra))
        except ClientError as exc:
            if error_code(exc) != "BucketAlreadyOwnedByYou":
                raise self._error("CreateBucket", exc) from exc
        self._call(
            "PutPublicAccessBlock",
            lambda: self._client.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            ),
        )
        self._call(
            "PutBucketVersioning",
            lambda: self._client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            ),
        )
        if tags:
            self._call(
                "PutBucketTagging",
                lambda: self._client.put_bucket_tagging(
                    Bucket=bucket, Tagging={"TagSet": tag_list(tags)}
                ),
            )

    def head(self, bucket: str, key: str) -> str | None:
        try:
            found = self._raw(
                "HeadObject", lambda: self._client.head_object(Bucket=bucket, Key=key)
            )
        except ClientError as exc:
            if http_status(exc) == 404 or error_code(exc) in ("404", "NoSuchKey"):
                return None
            raise self._error("HeadObject", exc) from exc
        return str(found.get("VersionId") or "")

    def upload(self, bucket: str, key: str, body: bytes) -> str:
        stored = self._call(
            "PutObject", lambda: self._client.put_object(Bucket=bucket, Key=key, Body=body)
        )
        return str(stored.get("VersionId") or "")

    def acquire_lock(self, bucket: str, key: str, body: bytes) -> bool:
        try:
            self._raw(
                "PutObject",
                lambda: self._client.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*"),
            )
        except ClientError as exc:
            # 412: the object exists; 409: a concurrent conditional write won the race.
            if error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise self._error("PutObject", exc) from exc
        return True

    def read(self, bucket: str, key: str) -> bytes | None:
        try:
            found = self._raw("GetObject", lambda: self._client.get_object(Bucket=bucket, Key=key))
        except ClientError as exc:
            if error_code(exc) == "NoSuchKey":
                return None
            raise self._error("GetObject", exc) from exc
        return bytes(found["Body"].read())

    def delete(self, bucket: str, key: str) -> None:
        self._call("DeleteObject", lambda: self._client.delete_object(Bucket=bucket, Key=key))

    # The data archive's pages (``backups/<env>/…``): encrypted at rest (SSE-S3), expiring.
    def put_backup(self, bucket: str, key: str, body: bytes) -> None:
        self._call(
            "PutObject",
            lambda: self._client.put_object(
                Bucket=bucket, Key=key, Body=body, ServerSideEncryption="AES256"
            ),
        )

    def presign(
        self, bucket: str, key: str, method: Literal["get", "put"], seconds: int
    ) -> tuple[str, dict[str, str]]:
        """A URL the function can use without S3 permissions of its own, and the headers it
        must send (SSE is part of the PUT signature). Signing is local: no request is made."""
        params: dict[str, str] = {"Bucket": bucket, "Key": key}
        headers: dict[str, str] = {}
        if method == "put":
            params["ServerSideEncryption"] = "AES256"
            headers["x-amz-server-side-encryption"] = "AES256"
        url = self._client.generate_presigned_url(
            f"{method}_object", Params=params, ExpiresIn=seconds
        )
        return str(url), headers

    def expire_backups(self, bucket: str, prefix: str, days: int) -> None:
        """Make sure a lifecycle rule expires ``prefix``; other rules are kept as they are."""
        try:
            found = self._raw(
                "GetBucketLifecycleConfiguration",
                lambda: self._client.get_bucket_lifecycle_configuration(Bucket=bucket),
            )
            rules = list(found.get("Rules") or [])
        except ClientError as exc:
            if error_code(exc) != "NoSuchLifecycleConfiguration":
                raise self._error("GetBucketLifecycleConfiguration", exc) from exc
            rules = []
        rule_id = "mathvisuals-backups"
        if any(rule.get("ID") == rule_id for rule in rules):
            return
        rules.append(
            {
                "ID": rule_id,
                "Filter": {"Prefix": prefix},
                "Status": "Enabled",
                "Expiration": {"Days": days},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            }
        )
        self._call(
            "PutBucketLifecycleConfiguration",
            lambda: self._client.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration={"Rules": rules}
            ),
        )
