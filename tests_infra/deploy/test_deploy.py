"""배포 방식 (GitHub Actions deploys, blue/green `-blue` containers, images tagged `latest` and the commit SHA) and
점검 절차 6 (최근 이미지 취약점 스캔 결과): after a deploy, the deployed commit's image is what runs, and it was
scanned clean. With --deployed-sha the image must be that commit's; without it, the one `latest` points to."""

import pytest

from viewster_infra import deploy
from viewster_infra.findings import drift, expect, note, require
from viewster_infra.spec.model import SEVERITIES

pytestmark = pytest.mark.aws("ecr")  # the AWS services these checks read (prefetch.py)


def _repository(deployed_container, aws) -> dict:
    key = deployed_container.want.spec.ecr_repository
    label = f"ecr repository {key}"
    return require(label, aws.facts("ecr")["repositories"][key], "no such repository", cause=label)


def _container(deployed_container, hosts) -> dict:
    found = hosts.facts(deployed_container.want.role)["containers"][deployed_container.key]
    return require(
        deployed_container.label, found, "no container of that name (docker inspect)", cause=deployed_container.label
    )


def _deployed_sha(run) -> str:
    if run.inputs.deployed_sha is None:
        pytest.skip("no --deployed-sha given: the image that runs is checked against `latest` instead")
    return run.inputs.deployed_sha


def _expected_image(deployed_container, aws, run) -> tuple[dict, dict]:
    """(repository, the image that should run): the deployed commit's, or `latest`'s without --deployed-sha."""
    repository = _repository(deployed_container, aws)
    label = f"ecr repository {repository['name']}"
    # Without that image nothing about it can be read: test_deploy_commit_image_pushed finds the cause (the
    # repository has no image of the deployed commit), once per repository.
    if run.inputs.deployed_sha is None:
        latest = deploy.with_tag(repository["images"], "latest")
        return repository, require(label, latest, "no image tagged latest", cause=label)
    images = deploy.tagged(repository["images"], run.inputs.deployed_sha)
    return repository, require(
        label, images[0] if images else None, f"no image tagged {run.inputs.deployed_sha}", cause=label
    )


def test_deploy_commit_image_pushed(deployed_container, aws, run):
    sha = _deployed_sha(run)
    repository = _repository(deployed_container, aws)
    if not deploy.tagged(repository["images"], sha):
        newest = repository["images"][0] if repository["images"] else None
        found = f"none; newest is {deploy.describe(newest, pushed=True)}" if newest else "an empty repository"
        drift(
            f"ecr repository {repository['name']}", f"image tagged {sha} (the deployed commit) expected, found {found}"
        )


def test_deploy_latest_is_deployed_commit(deployed_container, aws, run):
    _deployed_sha(run)
    repository, expected = _expected_image(deployed_container, aws, run)
    latest = deploy.with_tag(repository["images"], "latest")
    found = deploy.describe(latest) if latest else "no image tagged latest"
    if latest is None or latest["digest"] != expected["digest"]:
        drift(
            f"ecr repository {repository['name']}",
            prop="latest",
            expected=str(deploy.describe(expected)),
            found=str(found),
        )


def test_deploy_container_runs_expected_image(deployed_container, aws, hosts, run):
    repository, expected = _expected_image(deployed_container, aws, run)
    container = _container(deployed_container, hosts)
    digest = deploy.running_digest(container, repository["uri"])
    if digest == expected["digest"]:
        return
    if digest is None:
        found = f"no image of {repository['name']} (runs {container['image']!r})"
    else:
        image = deploy.with_digest(repository["images"], digest)
        found = deploy.describe(image, pushed=True) if image else f"{deploy.short_digest(digest)} (not in ECR)"
    drift(
        deployed_container.label,
        prop="image",
        expected=f"{repository['name']}@{deploy.describe(expected)}",
        found=str(found),
    )


def test_deploy_container_started_after_push(deployed_container, aws, hosts, run):
    _, expected = _expected_image(deployed_container, aws, run)
    container = _container(deployed_container, hosts)
    started = container["started_at"]
    if started is None or deploy.parse_time(started) < deploy.parse_time(expected["pushed_at"]):
        drift(
            deployed_container.label,
            prop="start",
            expected=f"after its image was pushed ({deploy.show_time(expected['pushed_at'])})",
            found=f"started {deploy.show_time(started) if started else 'never'}",
        )


def _scan(deployed_container, aws, run) -> tuple[str, dict]:
    """(label, scan) of the image that should run: the one the container runs once the deploy is right (when it
    runs another, test_deploy_container_runs_expected_image says so)."""
    repository, expected = _expected_image(deployed_container, aws, run)
    label = f"ecr image {repository['name']}@{deploy.describe(expected)}"
    return label, repository["scans"][expected["digest"]]


def test_deploy_image_scan_complete(deployed_container, aws, run):
    label, scan = _scan(deployed_container, aws, run)
    expect(label, "scan status", "COMPLETE", scan["status"] or "no scan")


def test_deploy_image_scan_findings_below_threshold(deployed_container, aws, run, spec):
    label, scan = _scan(deployed_container, aws, run)
    counts = scan["counts"]
    shown = ", ".join(f"{severity} {counts[severity]}" for severity in sorted(counts, key=_rank, reverse=True))
    note("scan findings by severity", shown or "none")
    threshold = spec.ecr.scan_fail_at
    severe = {s: n for s, n in counts.items() if _rank(s) >= _rank(threshold) and n}
    if severe:
        drift(label, prop=f"findings at or above {threshold}", expected="none", found=str(shown))


def _rank(severity: str) -> int:
    """INFORMATIONAL 0 ... CRITICAL 4; UNDEFINED and UNTRIAGED rank below every threshold."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1
