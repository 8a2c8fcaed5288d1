"""ECR: each repository the spec names, its scan-on-push setting and its image tags."""

from __future__ import annotations

from viewster_infra.aws.collectors._common import paginate
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec) -> dict:
    ecr = reader.client("ecr")
    found = {r["repositoryName"]: r for r in paginate(ecr, "describe_repositories", "repositories")}
    repositories = {}
    for key, want in spec.ecr.repositories.items():
        repo = found.get(want.name)
        if repo is None:
            repositories[key] = None
            continue
        tagged = paginate(ecr, "list_images", "imageIds", repositoryName=want.name, filter={"tagStatus": "TAGGED"})
        repositories[key] = {
            "name": want.name,
            "uri": repo["repositoryUri"],
            "scan_on_push": repo.get("imageScanningConfiguration", {}).get("scanOnPush", False),
            "tags": sorted({image["imageTag"] for image in tagged}),
        }
    return {"repositories": repositories}
