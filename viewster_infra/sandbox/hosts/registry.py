"""The sandbox's container registry: Debian's docker-registry (the CNCF Distribution registry), in a namespace of
its own, serving HTTPS with a certificate of the sandbox CA under two names: the environment's ECR registry
(`<account>.dkr.ecr.<region>.amazonaws.com`, which the hosts' /etc/hosts resolve to it) and a Docker Hub mirror
(the hosts' dockerd is told to pull public images through it). Images are pushed through the registry's HTTP API
(distribution spec: blob upload, then the manifest), byte for byte as ecr_images.py builds them, so that what the
hosts pull and what the sandbox's ECR lists have the same digests.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import requests

from viewster_infra.sandbox.ecr_images import MANIFEST_TYPE, Image
from viewster_infra.sandbox.hosts import tls

REGISTRY = "/usr/bin/docker-registry"
MIRROR_NAME = "mirror.registry.sandbox.internal"  # the Docker Hub mirror's name on the hosts
PORT = 443
CERTIFICATE_DAYS = 90


def ecr_name(account: str, region: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


def configure(directory: Path, ca_dir: Path, address: str, names: list[str]) -> Path:
    """The registry's configuration and certificate in `directory`; returns the configuration file."""
    directory.mkdir(parents=True, exist_ok=True)
    tls.issue(ca_dir, names, CERTIFICATE_DAYS, directory / "registry.pem", directory / "registry.key")
    config = directory / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {directory / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http:\n  addr: {address}:{PORT}\n"
        f"  tls: {{certificate: {directory / 'registry.pem'}, key: {directory / 'registry.key'}}}\n"
    )
    return config


def start(netns: str, config: Path) -> int:
    log = open(config.parent / "registry.log", "ab")  # noqa: SIM115 - handed to the registry
    process = subprocess.Popen(
        ["ip", "netns", "exec", netns, REGISTRY, "serve", str(config)],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return process.pid


def push(address: str, name: str, ca_bundle: str, images: list[Image], tags: dict[str, list[str]]) -> None:
    """Push `images` to the registry at `address`, its certificate checked against `name` (the machine's resolver
    knows no sandbox name), each under its repository with its own tag and the extra `tags` given per digest."""
    with requests.Session() as session:
        session.verify = ca_bundle
        session.trust_env = False  # REQUESTS_CA_BUNDLE would win over verify; and no proxy, ever
        adapter = requests.adapters.HTTPAdapter()
        adapter.poolmanager.connection_pool_kw.update(server_hostname=name, assert_hostname=name)
        session.mount("https://", adapter)
        base = f"https://{address}:{PORT}/v2"
        for image in images:
            for digest, blob in image.blobs.items():
                if session.head(f"{base}/{image.repository}/blobs/{digest}", timeout=10).status_code == 200:
                    continue
                started = session.post(f"{base}/{image.repository}/blobs/uploads/", timeout=10)
                started.raise_for_status()
                location = started.headers["Location"]
                joiner = "&" if "?" in location else "?"
                session.put(
                    f"{location}{joiner}digest={digest}",
                    data=blob,
                    headers={"Content-Type": "application/octet-stream"},
                    timeout=30,
                ).raise_for_status()
            for tag in [image.tag, *tags.get(image.digest, [])]:
                session.put(
                    f"{base}/{image.repository}/manifests/{tag}",
                    data=image.manifest.encode(),
                    headers={"Content-Type": MANIFEST_TYPE},
                    timeout=10,
                ).raise_for_status()
