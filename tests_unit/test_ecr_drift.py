"""ECR checks, each failing on its own drift."""

from tests_unit.harness import proves


@proves("test_ecr_scan_on_push")
def test_scan_on_push_disabled(staging):
    staging.client("ecr").put_image_scanning_configuration(
        repositoryName="viewster-staging-backend", imageScanningConfiguration={"scanOnPush": False}
    )
    assert staging.run().failures == {
        "test_ecr_scan_on_push[staging-backend]": "ecr repository viewster-staging-backend: scan on push expected True, "
        "found False"
    }


@proves("test_ecr_required_tags")
def test_latest_tag_removed(staging):
    staging.client("ecr").batch_delete_image(
        repositoryName="viewster-staging-admin-frontend", imageIds=[{"imageTag": "latest"}]
    )
    failures = staging.run().failures
    assert failures.pop("test_ecr_required_tags[staging-admin-frontend]") == (
        "ecr repository viewster-staging-admin-frontend: image tags expected to include 'latest', "
        "found ['3f2c1e0', '9e8d7c6']"
    )
    # Without --deployed-sha, `latest` names the image that should run: the deploy checks cannot find it either.
    missing = "ecr repository viewster-staging-admin-frontend: not found (no image tagged latest)"
    assert failures == {
        f"{check}[staging-frontend-admin-frontend-blue]": missing
        for check in (
            "test_deploy_container_runs_expected_image",
            "test_deploy_container_started_after_push",
            "test_deploy_image_scan_complete",
            "test_deploy_image_scan_findings_below_threshold",
        )
    }
