"""Deploy verification, each check failing on the drift a bad deploy leaves: a host still on the older image,
`latest` moved without a redeploy, the deployed commit never pushed, a CRITICAL finding, a container that was not
restarted after its image was pushed."""

import time

import pytest

from tests_unit.harness import proves
from tests_unit.test_hosts_drift import run_options
from viewster_infra.sandbox.ecr_images import COMMITS, build

OLDER, NEWER = COMMITS  # the sandbox's two commits; `latest` is NEWER and every host runs it
UNRELEASED = "c0ffee15bada55e5c0ffee15bada55e5c0ffee15"
REGISTRY = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"
DEPLOY_CHECKS = (
    "test_deploy_commit_image_pushed",
    "test_deploy_latest_is_deployed_commit",
    "test_deploy_container_runs_expected_image",
    "test_deploy_container_started_after_push",
    "test_deploy_image_scan_complete",
    "test_deploy_image_scan_findings_below_threshold",
)
CONTAINERS = ("frontend-frontend-blue", "frontend-admin-frontend-blue", "backend-backend-blue")


def digest(repository: str, commit: str) -> str:
    return build(repository, commit).digest[:19] + "…"


@pytest.mark.parametrize("sha", [NEWER[:7], NEWER, NEWER[:10].upper()])
def test_the_deployed_commit_passes_in_short_full_or_upper_case(staging_hosts, sha):
    result = staging_hosts.run(f"--deployed-sha={sha}", "-k", "deploy")
    assert result.exit_code == 0, result.failures
    assert sorted(result.outcomes) == sorted(f"{c}[staging-{k}]" for c in DEPLOY_CHECKS for k in CONTAINERS)


def test_without_a_deployed_sha_the_commit_checks_say_why_they_skip(staging_hosts):
    result = staging_hosts.run("-k", "deploy")
    assert result.exit_code == 0
    skipped = {name for name, outcome in result.outcomes.items() if outcome == "skipped"}
    assert skipped == {
        f"{c}[staging-{k}]"
        for c in ("test_deploy_commit_image_pushed", "test_deploy_latest_is_deployed_commit")
        for k in CONTAINERS
    }


@proves("test_deploy_container_runs_expected_image")
def test_host_still_on_the_older_image(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.ssh(
        "backend",
        "docker rm -f backend-blue && docker run -d --name backend-blue -p 8080:8080 "
        f"{run_options(staging_hosts)} {REGISTRY}/viewster-staging-backend:{OLDER[:7]}",
    )
    result = staging_hosts.run(f"--deployed-sha={NEWER}", "-k", "deploy")
    assert set(result.failures) == {"test_deploy_container_runs_expected_image[staging-backend-backend-blue]"}
    finding = result.failures["test_deploy_container_runs_expected_image[staging-backend-backend-blue]"]
    assert finding.startswith(
        f"backend container backend-blue: image expected viewster-staging-backend@"
        f"{digest('viewster-staging-backend', NEWER)} (tags {NEWER[:7]}, latest), "
        f"found {digest('viewster-staging-backend', OLDER)} (tags {OLDER[:7]}; pushed 20"
    )
    assert finding.endswith(" UTC)")


@proves("test_deploy_container_started_after_push")
def test_latest_moved_but_the_host_was_not_redeployed(staging_hosts):
    time.sleep(1.5)  # ECR's push time has whole seconds: the new push must be a later second than the start
    staging_hosts.push_image("backend", UNRELEASED, tags=("latest",))
    failures = staging_hosts.run("-k", "deploy").failures
    expected = f"viewster-staging-backend@{digest('viewster-staging-backend', UNRELEASED)} (tags c0ffee1, latest)"
    runs = failures.pop("test_deploy_container_runs_expected_image[staging-backend-backend-blue]")
    assert runs.startswith(
        f"backend container backend-blue: image expected {expected}, found "
        f"{digest('viewster-staging-backend', NEWER)} (tags {NEWER[:7]}; pushed "
    )
    started = failures.pop("test_deploy_container_started_after_push[staging-backend-backend-blue]")
    assert started.startswith("backend container backend-blue: start expected after its image was pushed (")
    assert failures == {}


@proves("test_deploy_commit_image_pushed", "test_deploy_latest_is_deployed_commit")
def test_the_deployed_commit_was_never_pushed(staging_hosts):
    result = staging_hosts.run(f"--deployed-sha={UNRELEASED[:7]}", "-k", "deploy")
    assert result.exit_code == 1
    for key, repository in [
        ("frontend-frontend-blue", "viewster-staging-frontend"),
        ("frontend-admin-frontend-blue", "viewster-staging-admin-frontend"),
        ("backend-backend-blue", "viewster-staging-backend"),
    ]:
        pushed = result.failures[f"test_deploy_commit_image_pushed[staging-{key}]"]
        assert pushed.startswith(
            f"ecr repository {repository}: image tagged c0ffee1 (the deployed commit) expected, found none; newest is "
        )
        assert f"(tags {NEWER[:7]}, latest; pushed " in pushed
        missing = f"ecr repository {repository}: not found (no image tagged c0ffee1)"
        for check in DEPLOY_CHECKS[1:]:
            assert result.failures[f"{check}[staging-{key}]"] == missing
    assert len(result.failures) == len(DEPLOY_CHECKS) * len(CONTAINERS)
    # the summary: one cause per repository, the checks that could not read their facts beneath it
    summary = result.report["summary"]
    assert [entry["id"] for entry in summary] == [
        f"test_deploy_commit_image_pushed[staging-{key}]"
        for key in ("frontend-frontend-blue", "frontend-admin-frontend-blue", "backend-backend-blue")
    ]
    assert {tuple(entry["beneath"]) for entry in summary} == {
        (f"5 check(s) could not read their facts because of ecr repository {repository} (found by VS-DEPLOY-01)",)
        for repository in ("viewster-staging-frontend", "viewster-staging-admin-frontend", "viewster-staging-backend")
    }


@proves("test_deploy_image_scan_findings_below_threshold")
def test_a_critical_finding_in_the_running_image(staging_hosts):
    staging_hosts.reset(scan_counts={"backend": {"CRITICAL": 1, "HIGH": 2, "LOW": 4}})
    result = staging_hosts.run("-k", "deploy")
    image = f"viewster-staging-backend@{digest('viewster-staging-backend', NEWER)} (tags {NEWER[:7]}, latest)"
    assert result.failures == {
        "test_deploy_image_scan_findings_below_threshold[staging-backend-backend-blue]": f"ecr image {image}: "
        "findings at or above CRITICAL expected none, found CRITICAL 1, HIGH 2, LOW 4"
    }


@proves("test_deploy_container_started_after_push")
def test_container_started_before_its_image_was_pushed(staging_hosts):
    time.sleep(1.5)  # ECR's push time has whole seconds: the re-push must be a later second than the start
    ecr = staging_hosts.client("ecr")
    newest = build("viewster-staging-frontend", NEWER)
    ecr.batch_delete_image(repositoryName="viewster-staging-frontend", imageIds=[{"imageDigest": newest.digest}])
    staging_hosts.push_image("frontend", NEWER, tags=("latest",))  # the same image, pushed again after the start
    result = staging_hosts.run("-k", "deploy")
    assert set(result.failures) == {"test_deploy_container_started_after_push[staging-frontend-frontend-blue]"}
    assert result.failures["test_deploy_container_started_after_push[staging-frontend-frontend-blue]"].startswith(
        "frontend container frontend-blue: start expected after its image was pushed ("
    )


@proves("test_deploy_image_scan_complete")
def test_the_running_image_was_never_scanned(staging_hosts):
    ecr = staging_hosts.client("ecr")
    image = build("viewster-staging-admin-frontend", UNRELEASED)
    for tag in ("c0ffee1", "latest"):  # pushed with scan on push off: no scan
        ecr.put_image(
            repositoryName="viewster-staging-admin-frontend",
            imageManifest=image.manifest,
            imageTag=tag,
            imageDigest=image.digest,
        )
    result = staging_hosts.run(f"--deployed-sha={UNRELEASED}", "-k", "scan")
    label = f"viewster-staging-admin-frontend@{digest('viewster-staging-admin-frontend', UNRELEASED)} (tags c0ffee1, latest)"
    missing = "not found (no image tagged c0ffee15bada55e5c0ffee15bada55e5c0ffee15)"
    assert result.failures == {
        "test_deploy_image_scan_complete[staging-frontend-admin-frontend-blue]": f"ecr image {label}: scan status "
        "expected 'COMPLETE', found 'no scan'",
        "test_deploy_image_scan_complete[staging-frontend-frontend-blue]": f"ecr repository viewster-staging-frontend: {missing}",
        "test_deploy_image_scan_findings_below_threshold[staging-frontend-frontend-blue]": f"ecr repository viewster-staging-frontend: {missing}",
        "test_deploy_image_scan_complete[staging-backend-backend-blue]": f"ecr repository viewster-staging-backend: {missing}",
        "test_deploy_image_scan_findings_below_threshold[staging-backend-backend-blue]": f"ecr repository viewster-staging-backend: {missing}",
    }
