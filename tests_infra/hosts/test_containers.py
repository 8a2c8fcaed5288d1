"""아키텍처, 점검 절차 3 and Backend 서비스 확인: each container runs, published where the guide says, from the
environment's own image. A failure carries the container's last log lines as evidence."""

import pytest

from viewster_infra.findings import expect, require
from viewster_infra.hosts.probe import published


def _container(container, hosts):
    facts = hosts.facts(container.want.role)
    found = require(container.label, facts["containers"][container.key], "no container of that name (docker inspect)")
    return facts, found


def test_container_running(container, hosts):
    facts, found = _container(container, hosts)
    evidence = (f"docker logs --tail 20 {container.key}", facts["logs"][container.key])
    state = found["status"]
    if found["restarting"]:
        # crash-looping: Docker starts it again and again, and between starts it has no figures at all
        state = f"restarting (restart count {found['restart_count']}, last exit code {found['exit_code']})"
    expect(container.label, "state", "running", state, evidence=evidence)


def test_container_published_ports(container, hosts):
    """Compared by meaning: `-p 8080:8080` (no address), 0.0.0.0 and :: all publish on every interface."""
    _, found = _container(container, hosts)
    wanted = {published(port) for port in container.want.spec.ports}
    expect(container.label, "published ports", wanted, set(found["ports"]))


@pytest.mark.aws("ecr")
def test_container_image(container, aws, hosts):
    _, found = _container(container, hosts)
    want = container.want.spec
    if want.image is not None:
        expect(container.label, "image", want.image, found["image"])
        return
    repositories = aws.facts("ecr")["repositories"]
    repository = require(f"ecr repository {want.ecr_repository}", repositories[want.ecr_repository], "not found")
    expect(container.label, "image repository", repository["uri"], _without_tag(found["image"]))


def _without_tag(image: str) -> str:
    """registry/name:tag or registry/name@digest -> registry/name (a registry's :port is kept)."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]
