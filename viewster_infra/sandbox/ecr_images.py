"""The container images of the sandbox's ECR repositories: real OCI-style manifests with real digests.

Each repository holds one image per commit in COMMITS, the newest tagged `latest` as well (the guide: images are
tagged `latest` and their commit SHA). An image is a config blob (naming its commit) and one layer; its digest is
the sha256 of its manifest's bytes and its image id the sha256 of its config, exactly as a registry and Docker
compute them. The replica hosts get the same images (their local store), so `docker inspect` on a host and
`ecr:DescribeImages` agree digest for digest, as they do in life.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

# Two commits of the application, older first. The team tags each image with the short SHA (7 characters).
COMMITS = (
    "3f2c1e0b6d5a4c3b2a1908f7e6d5c4b3a2918070",
    "9e8d7c6b5a49382716051f4e3d2c1b0a99887766",
)
SHORT = 7

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@dataclass(frozen=True)
class Image:
    repository: str  # ECR repository name
    commit: str
    manifest: str  # the exact bytes pushed (its sha256 is the digest)

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.manifest.encode()).hexdigest()

    @property
    def image_id(self) -> str:
        return json.loads(self.manifest)["config"]["digest"]

    @property
    def tag(self) -> str:
        return self.commit[:SHORT]


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build(repository: str, commit: str) -> Image:
    """The image of `repository` built from `commit`: deterministic, so every sandbox agrees on its digest."""
    layer = f"{repository} application files at {commit}\n".encode()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"org.opencontainers.image.revision": commit}},
            "rootfs": {"type": "layers", "diff_ids": [_sha256(layer)]},
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": _sha256(config)},
            "layers": [{"mediaType": LAYER_TYPE, "size": len(layer), "digest": _sha256(layer)}],
        },
        indent=3,  # as `docker manifest inspect` prints it; the digest covers these exact bytes
    )
    return Image(repository=repository, commit=commit, manifest=manifest)


def history(repository: str) -> list[Image]:
    """The repository's images, oldest first; the last one is `latest`."""
    return [build(repository, commit) for commit in COMMITS]
