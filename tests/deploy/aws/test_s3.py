"""S3: the artefact bucket, object versions and the lock object."""

from __future__ import annotations

import boto3
import pytest

from mathvisuals.deploy.aws import (
    AwsArtifacts,
    Backoff,
)
from mathvisuals.deploy.errors import DeployError
from tests.deploy.aws.support import (
    REGION,
    stub,
)

# --- S3 -------------------------------------------------------------------------------------


def test_artifact_bucket(aws: None) -> None:
    client = boto3.client("s3", region_name=REGION)
    artifacts = AwsArtifacts(client)
    bucket = "math-visuals-artifacts-eu-north-1"
    assert artifacts.bucket_region(bucket) is None
    artifacts.create_bucket(bucket, REGION, {"app": "math-visuals"})
    artifacts.create_bucket(bucket, REGION, {"app": "math-visuals"})  # already ours: fine
    assert artifacts.bucket_region(bucket) == REGION
    assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert client.get_bucket_tagging(Bucket=bucket)["TagSet"] == [
        {"Key": "app", "Value": "math-visuals"}
    ]

    key = "api/abc.zip"
    assert artifacts.head(bucket, key) is None
    first = artifacts.upload(bucket, key, b"zip-1")
    second = artifacts.upload(bucket, key, b"zip-2")
    assert first and second and first != second
    assert artifacts.head(bucket, key) == second
    assert artifacts.read(bucket, key) == b"zip-2"
    assert artifacts.read(bucket, "absent") is None


def test_us_east_1_bucket_has_no_location(aws: None) -> None:
    AwsArtifacts(boto3.client("s3", region_name="us-east-1")).create_bucket(
        "old-bucket", "us-east-1", {}
    )
    assert (
        AwsArtifacts(boto3.client("s3", region_name=REGION)).bucket_region("old-bucket")
        == "us-east-1"
    )


def test_unversioned_object_has_empty_version(aws: None) -> None:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket="plain", CreateBucketConfiguration={"LocationConstraint": REGION})
    artifacts = AwsArtifacts(client)
    assert artifacts.upload("plain", "k", b"x") == ""
    assert artifacts.head("plain", "k") == ""


def test_lock_is_acquired_once(aws: None) -> None:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket="locks", CreateBucketConfiguration={"LocationConstraint": REGION})
    artifacts = AwsArtifacts(client)
    assert artifacts.acquire_lock("locks", "locks/test.json", b'{"holder": "a"}')
    assert not artifacts.acquire_lock("locks", "locks/test.json", b'{"holder": "b"}')
    assert artifacts.read("locks", "locks/test.json") == b'{"holder": "a"}'
    artifacts.delete("locks", "locks/test.json")
    assert artifacts.acquire_lock("locks", "locks/test.json", b'{"holder": "b"}')


@pytest.mark.parametrize("code", ["PreconditionFailed", "ConditionalRequestConflict"])
def test_lock_conflicts_are_false(backoff: Backoff, code: str) -> None:
    client, stubber = stub("s3")
    stubber.add_client_error(
        "put_object",
        code,
        "At least one of the pre-conditions you specified did not hold",
        http_status_code=412,
        expected_params={"Bucket": "b", "Key": "k", "Body": b"x", "IfNoneMatch": "*"},
    )
    with stubber:
        assert AwsArtifacts(client, backoff=backoff).acquire_lock("b", "k", b"x") is False


def test_bucket_region_falls_back_to_head_bucket(backoff: Backoff) -> None:
    client, stubber = stub("s3")
    stubber.add_response("get_bucket_location", {"LocationConstraint": "EU"})
    stubber.add_client_error("get_bucket_location", "AccessDenied", "Access Denied", 403)
    stubber.add_client_error(
        "head_bucket",
        "403",
        "Forbidden",
        403,
        response_meta={"HTTPHeaders": {"x-amz-bucket-region": "eu-west-1"}},
    )
    stubber.add_client_error("get_bucket_location", "AccessDenied", "Access Denied", 403)
    stubber.add_client_error("head_bucket", "404", "Not Found", 404)
    with stubber:
        artifacts = AwsArtifacts(client, backoff=backoff)
        assert artifacts.bucket_region("legacy") == "eu-west-1"
        assert artifacts.bucket_region("someone-elses") == "eu-west-1"
        assert artifacts.bucket_region("gone") is None


# --- data pages (backups/<env>/…) -------------------------------------------------------------


def test_backup_pages_are_encrypted_presigned_and_expire(aws: None) -> None:
    client = boto3.client("s3", region_name=REGION)
    artifacts = AwsArtifacts(client)
    bucket = "math-visuals-artifacts-eu-north-1"
    artifacts.create_bucket(bucket, REGION, {})
    artifacts.put_backup(bucket, "backups/test/r/page-0", b"page")
    head = client.head_object(Bucket=bucket, Key="backups/test/r/page-0")
    assert head["ServerSideEncryption"] == "AES256"
    url, headers = artifacts.presign(bucket, "backups/test/r/page-1", "put", 900)
    assert headers == {"x-amz-server-side-encryption": "AES256"}
    assert "X-Amz-Signature=" in url and "x-amz-server-side-encryption" in url.lower()
    get_url, none = artifacts.presign(bucket, "backups/test/r/page-0", "get", 900)
    assert none == {} and "page-0" in get_url
    client.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "theirs",
                    "Filter": {"Prefix": "logs/"},
                    "Status": "Enabled",
                    "Expiration": {"Days": 30},
                }
            ]
        },
    )
    artifacts.expire_backups(bucket, "backups/test/", 7)
    artifacts.expire_backups(bucket, "backups/test/", 7)  # already there: unchanged
    rules = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in rules] == ["theirs", "mathvisuals-backups"]
    assert rules[1]["Expiration"] == {"Days": 7} and rules[1]["Filter"] == {
        "Prefix": "backups/test/"
    }


def test_lifecycle_on_a_bucket_without_one(aws: None) -> None:
    client = boto3.client("s3", region_name=REGION)
    artifacts = AwsArtifacts(client)
    bucket = "math-visuals-artifacts-eu-north-1"
    artifacts.create_bucket(bucket, REGION, {})
    artifacts.expire_backups(bucket, "backups/prod/", 7)
    assert len(client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]) == 1


def test_lifecycle_read_denied_is_one_error() -> None:
    client, stubber = stub("s3")
    stubber.add_client_error(
        "get_bucket_lifecycle_configuration", "AccessDenied", http_status_code=403
    )
    with stubber, pytest.raises(DeployError, match="GetBucketLifecycleConfiguration"):
        AwsArtifacts(client, backoff=Backoff(attempts=1)).expire_backups("b", "backups/x/", 7)
