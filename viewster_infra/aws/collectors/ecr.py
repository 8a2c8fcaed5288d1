"""ECR: each repository the spec names, its scan-on-push setting, its images (digest, tags, push time), the scan
of the images that should be running (the one `latest` points to and, after a deploy, the deployed commit's), and
its lifecycle rules."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from viewster_infra import deploy
from viewster_infra.aws.collectors._common import RunOptions, paginate
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    ecr = reader.client("ecr")
    found = {r["repositoryName"]: r for r in paginate(ecr, "describe_repositories", "repositories")}
    wanted = list(spec.ecr.repositories.items())
    read = reader.parallel(  # each repository at once
        *[lambda want=want: _repository(reader, ecr, want.name, found.get(want.name), options) for _, want in wanted]
    )
    return {
        "repositories": {key: repository for (key, _), repository in zip(wanted, read, strict=True)},
        "all_repositories": sorted(found),
    }


def _repository(reader, ecr, name: str, repo: dict | None, options: RunOptions) -> dict | None:
    if repo is None:
        return None
    listed, lifecycle_rules = reader.parallel(
        lambda: list(paginate(ecr, "describe_images", "imageDetails", repositoryName=name)),
        lambda: _lifecycle_rules(ecr, name),
    )
    images = [_image(i) for i in listed]
    # Newest first, as a person reads a history; pushes within one second keep the order ECR lists them in.
    images = sorted(reversed(images), key=lambda i: i["pushed_at"], reverse=True)
    digests = _to_scan(images, options.deployed_sha)
    scans = reader.parallel(*[lambda digest=digest: _scan(ecr, name, digest) for digest in digests])
    return {
        "name": name,
        "uri": repo["repositoryUri"],
        "scan_on_push": repo.get("imageScanningConfiguration", {}).get("scanOnPush", False),
        "tags": sorted({tag for image in images for tag in image["tags"]}),
        "images": images,
        "scans": dict(zip(digests, scans, strict=True)),
        "lifecycle_rules": lifecycle_rules,
    }


def _image(detail: dict) -> dict:
    return {
        "digest": detail["imageDigest"],
        "tags": sorted(detail.get("imageTags", [])),
        "pushed_at": detail["imagePushedAt"].isoformat(),
    }


def _to_scan(images: list[dict], deployed_sha: str | None) -> list[str]:
    """Digests of the images that should run: `latest`'s and the deployed commit's (usually one and the same)."""
    wanted = [i["digest"] for i in images if "latest" in i["tags"]]
    if deployed_sha:
        wanted += [i["digest"] for i in images if any(deploy.names_commit(t, deployed_sha) for t in i["tags"])]
    return list(dict.fromkeys(wanted))


def _scan(ecr, repository: str, digest: str) -> dict:
    """Scan status and finding counts by severity (one page: the counts are a summary of every finding)."""
    try:
        found = ecr.describe_image_scan_findings(repositoryName=repository, imageId={"imageDigest": digest})
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ScanNotFoundException":
            return {"status": None, "counts": {}}
        raise
    return {
        "status": found.get("imageScanStatus", {}).get("status"),
        "counts": found.get("imageScanFindings", {}).get("findingSeverityCounts", {}),
    }


def _lifecycle_rules(ecr, repository: str) -> list[dict] | None:
    """The repository's lifecycle rules (selection and action), or None when it has no lifecycle policy."""
    try:
        text = ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "LifecyclePolicyNotFoundException":
            return None
        raise
    return [
        {**rule.get("selection", {}), "action": rule.get("action", {}).get("type")}
        for rule in json.loads(text).get("rules", [])
    ]
