"""Where a sandbox's hosts live: bridge, namespaces, addresses, all derived from its slot.

A slot is a free /24 of 198.18.0.0/16 taken when the sandbox comes up, so that several sandboxes (both
environments, a person's demo and the unit tests' own) run side by side without sharing a name or an address.
"""

from __future__ import annotations

from dataclasses import dataclass

# RFC 2544's benchmarking range: never routed anywhere, so nothing here can reach a real machine.
NETWORK_PREFIX = "198.18"
ROLE_HOSTS = {"frontend": 11, "backend": 12, "thirdparty": 13}
DATABASE_HOST = 20
DNS_HOST = 53  # the resolver a client would ask: serves the sandbox's Route53 zone, nothing else
REGISTRY_HOST = 5  # the container registry: the environment's ECR registry and a Docker Hub mirror
GATEWAY_HOST = 1


@dataclass(frozen=True)
class HostPlace:
    name: str  # role, "database" for the RDS stand-in, "dns" for the resolver, "registry" for the registry
    netns: str
    address: str
    veth: str  # the root side of its veth pair


def netns_prefix(index: int, env: str) -> str:
    return f"viewster{index}-{env}-"


def bridge_name(index: int) -> str:
    return f"vsbr{index}"


def slot_links(index: int) -> str:
    """The links a slot owns in the root namespace, as a pattern: its bridge and its veths (`vs<index><role>`)."""
    return rf"vsbr{index}|vs{index}[a-z]+"


def gateway_address(index: int) -> str:
    return f"{NETWORK_PREFIX}.{index}.{GATEWAY_HOST}"


def places(env: str, index: int, roles: list[str]) -> dict[str, HostPlace]:
    # the registry first: it is up, its images pushed, before any host pulls them
    numbers = {"registry": REGISTRY_HOST}
    numbers |= {role: ROLE_HOSTS.get(role, 30 + i) for i, role in enumerate(roles)}
    numbers |= {"database": DATABASE_HOST, "dns": DNS_HOST}
    return {
        name: HostPlace(
            name=name,
            netns=f"{netns_prefix(index, env)}{name}",
            address=f"{NETWORK_PREFIX}.{index}.{number}",
            veth=f"vs{index}{name[:3]}",
        )
        for name, number in numbers.items()
    }
