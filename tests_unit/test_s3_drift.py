"""S3 checks, each failing on its own drift."""

from tests_unit.harness import proves

BUCKET = "viewster-assets-staging"
LABEL = f"s3 bucket {BUCKET}"


def lifecycle(staging, transitions, noncurrent_days):
    staging.client("s3").put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "drifted",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Transitions": [{"Days": days, "StorageClass": cls} for days, cls in transitions],
                    "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days},
                }
            ]
        },
    )


@proves("test_s3_versioning")
def test_versioning_suspended(staging):
    staging.client("s3").put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    assert staging.run().failures == {
        "test_s3_versioning[staging-assets]": f"{LABEL}: versioning expected 'Enabled', found 'Suspended'"
    }


@proves("test_s3_default_encryption")
def test_encryption_changed_to_kms(staging):
    staging.client("s3").put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    assert staging.run().failures == {
        "test_s3_default_encryption[staging-assets]": f"{LABEL}: default encryption expected ['AES256'], found ['aws:kms']"
    }


def test_encryption_removed(staging):
    staging.client("s3").delete_bucket_encryption(Bucket=BUCKET)
    assert staging.run().failures == {
        "test_s3_default_encryption[staging-assets]": f"{LABEL}: default encryption expected ['AES256'], found []"
    }


@proves("test_s3_lifecycle_transitions")
def test_lifecycle_transition_moved(staging):
    lifecycle(staging, [(60, "STANDARD_IA"), (90, "GLACIER")], 365)
    assert staging.run().failures == {
        "test_s3_lifecycle_transitions[staging-assets]": f"{LABEL}: lifecycle transitions (days, storage class) "
        "expected {(30, 'STANDARD_IA'), (90, 'GLACIER')}, found {(60, 'STANDARD_IA'), (90, 'GLACIER')}"
    }


@proves("test_s3_noncurrent_version_expiration")
def test_noncurrent_expiration_shortened(staging):
    lifecycle(staging, [(30, "STANDARD_IA"), (90, "GLACIER")], 30)
    assert staging.run().failures == {
        "test_s3_noncurrent_version_expiration[staging-assets]": f"{LABEL}: noncurrent version expiration (days) "
        "expected [365], found [30]"
    }


@proves("test_s3_public_access_blocked")
def test_public_policy_allowed(staging):
    staging.client("s3").put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
    )
    failure = staging.run().failures
    assert list(failure) == ["test_s3_public_access_blocked[staging-assets]"]
    assert "'BlockPublicPolicy': False" in failure["test_s3_public_access_blocked[staging-assets]"]


def test_missing_bucket_fails_every_bucket_check_as_not_found(staging):
    staging.client("s3").delete_bucket(Bucket=BUCKET)
    failures = staging.run().failures
    assert set(failures) == {
        f"{check}[staging-assets]"
        for check in (
            "test_s3_versioning",
            "test_s3_default_encryption",
            "test_s3_lifecycle_transitions",
            "test_s3_noncurrent_version_expiration",
            "test_s3_public_access_blocked",
        )
    }
    assert set(failures.values()) == {f"{LABEL}: not found (no such bucket)"}
