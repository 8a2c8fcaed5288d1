"""S3: versioning, default encryption, lifecycle rules and the public access block of each bucket the spec names."""

from __future__ import annotations

from botocore.exceptions import ClientError

from viewster_infra.aws.collectors._common import RunOptions
from viewster_infra.spec.model import EnvironmentSpec

# Error codes S3 uses for "this bucket has no such configuration": facts, not failures to read.
ABSENT = {
    "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchLifecycleConfiguration",
    "NoSuchPublicAccessBlockConfiguration",
}


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    s3 = reader.client("s3")
    return {"buckets": {key: _bucket(s3, want.name) for key, want in spec.s3.buckets.items()}}


def _bucket(s3, name: str) -> dict | None:
    try:
        versioning = s3.get_bucket_versioning(Bucket=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucket":
            return None
        raise
    encryption = _absent_is_none(lambda: s3.get_bucket_encryption(Bucket=name))
    lifecycle = _absent_is_none(lambda: s3.get_bucket_lifecycle_configuration(Bucket=name))
    block = _absent_is_none(lambda: s3.get_public_access_block(Bucket=name))
    rules = [r for r in (lifecycle or {}).get("Rules", []) if r.get("Status") == "Enabled"]
    return {
        "name": name,
        "versioning": versioning.get("Status", "Disabled"),
        "encryption": sorted(
            {
                rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
                for rule in (encryption or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
                if "ApplyServerSideEncryptionByDefault" in rule
            }
        ),
        "lifecycle_transitions": sorted(
            [t["Days"], t["StorageClass"]] for r in rules for t in r.get("Transitions", []) if "Days" in t
        ),
        "noncurrent_version_expiration_days": sorted(
            r["NoncurrentVersionExpiration"]["NoncurrentDays"] for r in rules if "NoncurrentVersionExpiration" in r
        ),
        "public_access_block": (block or {}).get("PublicAccessBlockConfiguration", {}),
    }


def _absent_is_none(read):
    try:
        return read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ABSENT:
            return None
        raise
