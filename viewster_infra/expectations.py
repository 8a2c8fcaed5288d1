"""Turns the spec into test parameters: one parameter per spec entry, its id built from spec keys only.

A check asks for one of these fixture names (`database`, `alarm`, ...) and is run once per entry, as
`test_rds_engine_version[staging-database]`. The value is an `Expected`: the spec key, the expected state, and a
label that names the resource in failure messages. Ids never carry runtime values (instance ids, addresses), so
results compare across runs and environments.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from viewster_infra import changes, terraform
from viewster_infra.spec.model import EnvironmentSpec

T = TypeVar("T")


@dataclass(frozen=True)
class Expected(Generic[T]):
    key: str
    want: T
    label: str  # "rds viewster-staging-database": how a failure names the resource

    def __str__(self) -> str:
        return self.label


def _named(kind: str, items: dict[str, Any], name: Callable[[str, Any], str]) -> dict[str, Expected]:
    return {key: Expected(key, want, f"{kind} {name(key, want)}") for key, want in items.items()}


def _by_attr(attribute: str) -> Callable[[str, Any], str]:
    return lambda key, want: getattr(want, attribute)


def _by_tag_name(key: str, want: Any) -> str:
    return want.tags.get("Name", key)


def _ingress_rules(spec: EnvironmentSpec) -> dict[str, Expected]:
    return {
        f"{group_key}-{rule.protocol}{rule.port}": Expected(
            group_key, rule, f"security group {group.name} {rule.protocol}/{rule.port}"
        )
        for group_key, group in spec.security_groups.items()
        for rule in group.ingress
    }


@dataclass(frozen=True)
class _Named:
    name: str


@dataclass(frozen=True)
class OnHost(Generic[T]):
    role: str
    name: str
    spec: T


def _on_hosts(kind: str, entries_of: Callable[[Any], dict[str, Any]]) -> Callable[[EnvironmentSpec], dict]:
    """Entries found inside each role's spec (containers, sites...), keyed "<role>-<name>"."""

    def entries(spec: EnvironmentSpec) -> dict[str, Expected]:
        found = {}
        for role_key, role in spec.hosts.roles.items():
            for name, item in entries_of(role).items():
                found[f"{role_key}-{name}"] = Expected(name, OnHost(role_key, name, item), f"{role_key} {kind} {name}")
        return found

    return entries


def _roles_with(attribute: str, kind: str) -> Callable[[EnvironmentSpec], dict]:
    return lambda s: {
        key: Expected(key, OnHost(key, key, getattr(role, attribute)), f"{key} {kind}")
        for key, role in s.hosts.roles.items()
        if getattr(role, attribute)
    }


def _sites(spec: EnvironmentSpec, keep: Callable[[Any], bool] = lambda site: True) -> dict[str, Expected]:
    found = {}
    for role_key, role in spec.hosts.roles.items():
        for key, site in (role.nginx.sites if role.nginx else {}).items():
            if keep(site):
                name = spec.route53.records[key].name
                found[f"{role_key}-{key}"] = Expected(
                    key, OnHost(role_key, name, site), f"{role_key} nginx site {name}"
                )
    return found


def _recommended(measure: str, targets: Callable[[EnvironmentSpec], dict[str, Any]], kind: str):
    """(recommendation, target) pairs for the recommendations that use `measure`, keyed "<recommendation>-<target>"."""

    def entries(spec: EnvironmentSpec) -> dict[str, Expected]:
        found = {}
        for rec_key, rec in spec.recommendations.items():
            if getattr(rec, measure) is None:
                continue
            for key, target in targets(spec).items():
                found[f"{rec_key}-{key}"] = Expected(key, (rec, target), f"{kind} {target.name}")
        return found

    return entries


def _slug(text: str) -> str:
    """ "Amazon EC2 Container Registry (ECR)" -> "amazon-ec2-container-registry-ecr": a test id without spaces."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _managed(spec: EnvironmentSpec) -> dict[str, Expected]:
    """Every resource the spec names, as Terraform manages it: (kind, how the state names it)."""
    return {
        f"{kind.name}-{key}": Expected(key, (kind, naming), f"{kind.name} {' '.join(reversed(naming))}")
        for kind in terraform.KINDS
        for key, naming in kind.entries(spec).items()
    }


# fixture name -> the spec entries it runs over
PARAMETERS: dict[str, Callable[[EnvironmentSpec], dict[str, Expected]]] = {
    "vpc": lambda s: {"vpc": Expected("vpc", s.vpc, f"vpc {s.vpc.tags.get('Name', 'vpc')}")},
    "subnet": lambda s: _named("subnet", s.vpc.subnets, _by_tag_name),
    "instance": lambda s: _named("ec2 instance", s.ec2.instances, _by_tag_name),
    "ingress_rule": _ingress_rules,
    "database": lambda s: _named("rds", s.rds.databases, _by_attr("identifier")),
    "bucket": lambda s: _named("s3 bucket", s.s3.buckets, _by_attr("name")),
    "repository": lambda s: _named("ecr repository", s.ecr.repositories, _by_attr("name")),
    "dashboard": lambda s: _named("cloudwatch dashboard", s.cloudwatch.dashboards, _by_attr("name")),
    "alarm": lambda s: _named("cloudwatch alarm", s.cloudwatch.alarms, _by_attr("name")),
    "topic": lambda s: _named("sns topic", s.sns.topics, _by_attr("name")),
    "function": lambda s: _named("lambda function", s.lambda_.functions, _by_attr("name")),
    "record": lambda s: _named("route53 record", s.route53.records, lambda k, w: f"{w.type} {w.name}"),
    "parameter": lambda s: _named("ssm parameter", s.ssm.parameters, _by_attr("name")),
    "server": lambda s: {k: Expected(k, OnHost(k, k, r), f"host {k}") for k, r in s.hosts.roles.items()},
    "container": _on_hosts("container", lambda role: role.containers),
    "logging_container": _on_hosts(
        "container", lambda role: {n: c for n, c in role.containers.items() if c.errors_logged_max is not None}
    ),
    "deployed_container": _on_hosts(
        "container", lambda role: {name: c for name, c in role.containers.items() if c.ecr_repository is not None}
    ),
    "reach": _on_hosts("reach", lambda role: {r.key: r for r in role.reaches}),
    "nginx": _roles_with("nginx", "nginx"),
    "redis": _roles_with("redis", "redis"),
    "rabbitmq": _roles_with("rabbitmq", "rabbitmq"),
    "queue": lambda s: {  # keyed by spec key, labelled by the queue's name
        f"{role_key}-{key}": Expected(
            key, OnHost(role_key, queue.name, queue), f"{role_key} rabbitmq queue {queue.name}"
        )
        for role_key, role in s.hosts.roles.items()
        for key, queue in (role.rabbitmq.queues if role.rabbitmq else {}).items()
    },
    "site": _sites,
    "websocket_site": lambda s: _sites(s, lambda site: site.websocket),
    "timeout_site": lambda s: _sites(s, lambda site: site.proxy_read_timeout is not None),
    "health_check": lambda s: {
        s.endpoints.health.record: Expected(s.endpoints.health.record, s.endpoints.health, "health")
    },
    "websocket_check": lambda s: {
        s.endpoints.websocket.record: Expected(s.endpoints.websocket.record, s.endpoints.websocket, "websocket")
    },
    "served_name": lambda s: _named("https", s.route53.records, lambda k, w: w.name),
    "recommended_backup": _recommended(
        "rds_min_backup_retention_days", lambda s: {k: _Named(d.identifier) for k, d in s.rds.databases.items()}, "rds"
    ),
    "recommended_image_count": _recommended("ecr_keep_last_images", lambda s: s.ecr.repositories, "ecr repository"),
    "recommended_untagged_expiry": _recommended(
        "ecr_expire_untagged_after_days", lambda s: s.ecr.repositories, "ecr repository"
    ),
    "cost_report": lambda s: {
        "cost": Expected("cost", s.cost, f"cost {s.cost.environment_tag}={s.vpc.tags.get(s.cost.environment_tag)}")
    },
    "budget": lambda s: {
        _slug(service): Expected(service, amount, f"cost {service}")
        for service, amount in s.cost.monthly_budgets_usd.items()
    },
    "managed": _managed,
    "compared_resource": lambda s: {k: v for k, v in _managed(s).items() if v.want[0].compared},
    "unmanaged_kind": lambda s: {k: Expected(k, v, f"unmanaged {v[1]}s") for k, v in changes.UNMANAGED_KINDS.items()},
    "changed_service": lambda s: {
        k: Expected(k, source, f"{k} changes") for k, source in changes.EVENT_SOURCES.items()
    },
    "redirected_name": lambda s: {
        k: v
        for k, v in _named("http", s.route53.records, lambda k, w: w.name).items()
        if k in s.endpoints.https_redirect
    },
}


def _in_this_state(expected: Expected, spec: EnvironmentSpec, env: str) -> bool:
    """False for a resource another environment's Terraform state manages (ssm.parameters.*.state_of)."""
    kind = expected.want[0] if isinstance(expected.want, tuple) and expected.want else None
    if not isinstance(kind, terraform.Kind) or kind.name != "parameter":
        return True
    return spec.ssm.parameters[expected.key].state_of in (None, env)


def parametrize(metafunc, env: str, spec: EnvironmentSpec) -> None:
    for fixture, entries_of in PARAMETERS.items():
        if fixture in metafunc.fixturenames:
            entries = {key: e for key, e in entries_of(spec).items() if _in_this_state(e, spec, env)}
            metafunc.parametrize(fixture, list(entries.values()), ids=[f"{env}-{key}" for key in entries])
