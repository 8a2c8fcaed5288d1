"""S3: versioning, default encryption, lifecycle rules and the public access block of each bucket the spec names,
and the names of all the account's buckets."""

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
    buckets = list(spec.s3.buckets.items())
    listed, *found = reader.parallel(
        lambda: s3.list_buckets()["Buckets"],  # every bucket of the account, to find those nobody manages
        *[lambda name=want.name: _bucket(reader, s3, name) for _, want in buckets],
    )
    return {
        "buckets": {key: bucket for (key, _), bucket in zip(buckets, found, strict=True)},
        "all_buckets": sorted(b["Name"] for b in listed),
    }


def _bucket(reader, s3, name: str) -> dict | None:
    """The bucket's four settings, read at once; None when there is no such bucket."""
    try:
        versioning, encryption, lifecycle, block = reader.parallel(
            lambda: s3.get_bucket_versioning(Bucket=name),
            lambda: _absent_is_none(lambda: s3.get_bucket_encryption(Bucket=name)),
            lambda: _absent_is_none(lambda: s3.get_bucket_lifecycle_configuration(Bucket=name)),
            lambda: _absent_is_none(lambda: s3.get_public_access_block(Bucket=name)),
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucket":
            return None
        raise
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
