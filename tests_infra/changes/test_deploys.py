"""배포 방식 ("GitHub Actions 자동 배포 (수동 배포 금지)"): each container runs an image that CI pushed (its PutImage
event in CloudTrail, by the spec's image pusher); an image pushed by anyone else, or one no CI push produced, is a
manual deploy."""

import pytest

from viewster_infra import changes, deploy
from viewster_infra.findings import drift, require

pytestmark = pytest.mark.aws("cloudtrail", "ecr")


def test_deploy_image_pushed_by_ci(deployed_container, aws, hosts, run):
    key = deployed_container.want.spec.ecr_repository
    repository = require(f"ecr repository {key}", aws.facts("ecr")["repositories"][key], "no such repository")
    container = require(
        deployed_container.label,
        hosts.facts(deployed_container.want.role)["containers"][deployed_container.key],
        "no container of that name (docker inspect)",
        cause=deployed_container.label,
    )
    digest = deploy.running_digest(container, repository["uri"])
    if digest is None:
        drift(
            deployed_container.label,
            f"runs {container['image']!r}, which no push to {repository['name']} produced",
            prop="pushed by",
            expected=run.spec.changes.image_pusher,
            found="no push",
        )
    trail = aws.facts("cloudtrail")
    pushes = [p for p in trail["pushes"] if p["repository"] == repository["name"] and p["digest"] == digest]
    by_ci = [p for p in pushes if changes.allowed_as(p, run.spec) == run.spec.changes.image_pusher]
    if by_ci:
        return
    if pushes:
        drift(
            deployed_container.label,
            f"runs {deploy.short_digest(digest)}, pushed by {changes.who(pushes[0])} at "
            f"{changes.when(pushes[0])}, not by {run.spec.changes.image_pusher}",
            prop="pushed by",
            expected=run.spec.changes.image_pusher,
            found=changes.who(pushes[0]),
        )
    drift(
        deployed_container.label,
        f"runs {deploy.short_digest(digest)}, and no push of it is recorded (CloudTrail PutImage in "
        f"{repository['name']})",
        prop="pushed by",
        expected=run.spec.changes.image_pusher,
        found="no recorded push",
    )
