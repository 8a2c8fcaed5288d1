"""Terraform's state (format version 4, as Terraform 0.12 to 1.x writes it) and how each kind of resource the spec
names is found in it and compared with AWS.

Resource types and attribute names are the AWS provider's schema (hashicorp/aws 5.x; checked against 5.82). Only
the attributes compared here are kept from a state: a state also holds secrets in the clear (an SSM parameter's
`value`, a database's `password`), and nothing but these names ever leaves `read_state`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from viewster_infra.spec.model import EnvironmentSpec

STATE_VERSION = 4


class StateError(Exception):
    """The state cannot be read as Terraform's: one line."""


def _first(value: Any) -> dict:
    """A nested block (root_block_device, image_scanning_configuration) is a list of one object in the state."""
    return value[0] if isinstance(value, list) and value else {}


def rules(found: list[dict]) -> list[str]:
    """Ingress rules as one sorted line per source, the same for the state's blocks and EC2's permissions:
    'tcp 443-443 from 0.0.0.0/0', 'tcp 6379-6379 from sg-0abc'."""
    lines = set()
    for rule in found or []:
        protocol = str(rule.get("protocol"))
        ports = f"{rule.get('from_port')}-{rule.get('to_port')}"
        sources = [*rule.get("cidr_blocks", rule.get("cidrs", [])), *rule.get("ipv6_cidr_blocks", [])]
        sources += rule.get("security_groups", rule.get("group_ids", []))
        lines |= {f"{protocol} {ports} from {source}" for source in sources}
    return sorted(lines)


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Attribute:
    """One property checked both in the spec and in the state: the state's attribute and the facts' field that hold
    it, and how each reads as the other (a nested block, a list in another order)."""

    label: str  # as a person reads it: "instance class"
    state_name: str  # the state's attribute: "instance_class"
    facts_name: str  # the AWS facts' field: "instance_class"
    in_state: Callable[[Any], Any] = _same
    in_aws: Callable[[Any], Any] = _same

    def state(self, attributes: dict) -> Any:
        return self.in_state(attributes.get(self.state_name))

    def aws(self, facts: dict) -> Any:
        return self.in_aws(facts.get(self.facts_name))


@dataclass(frozen=True)
class Kind:
    """A kind of resource the spec names, as Terraform manages it."""

    name: str  # "database": test ids and labels
    tf_type: str  # "aws_db_instance"
    service: str  # the AWS facts it is read from: "rds"
    facts_key: str  # where in those facts, by spec key: "databases"
    naming: tuple[str, ...]  # the state attributes that name it ("tags": its Name tag)
    entries: Callable[[EnvironmentSpec], dict[str, tuple[str, ...]]]  # spec key -> those names
    id_field: str = "name"  # the facts' field that is the id Terraform keeps
    compared: tuple[Attribute, ...] = ()

    @property
    def kept(self) -> tuple[str, ...]:
        """The state attributes read (besides id and arn): what names it and what is compared."""
        return tuple(dict.fromkeys([*self.naming, *(a.state_name for a in self.compared)]))

    def names_it(self, attributes: dict) -> tuple[str, ...]:
        """How a state instance names itself, as `entries` names the spec's (a record's name without its final dot,
        lower case, as the spec keeps it)."""
        names = tuple(
            (attributes.get("tags") or {}).get("Name", "") if name == "tags" else str(attributes.get(name, ""))
            for name in self.naming
        )
        if self.tf_type == "aws_route53_record":
            names = (names[0].rstrip(".").lower(), *names[1:])
        return names

    def aws(self, facts: dict, key: str) -> dict | None:
        value = facts[self.facts_key]
        return value if self.facts_key == "vpc" else value[key]

    def aws_id(self, found: dict, facts: dict, naming: tuple[str, ...]) -> str:
        """The id Terraform keeps for the resource AWS has. A record's is its zone's, name's and type's."""
        if self.tf_type == "aws_route53_record":
            zone = (facts.get("zone") or {}).get("id", "").rsplit("/", 1)[-1]
            return f"{zone}_{naming[0]}_{naming[1]}"
        return found[self.id_field]


def _by_tag(items: Callable[[EnvironmentSpec], dict]) -> Callable[[EnvironmentSpec], dict]:
    return lambda spec: {key: (want.tags.get("Name", ""),) for key, want in items(spec).items()}


def _by_name(items: Callable[[EnvironmentSpec], dict], attribute: str = "name") -> Callable[[EnvironmentSpec], dict]:
    return lambda spec: {key: (getattr(want, attribute),) for key, want in items(spec).items()}


def _root(field: str) -> Callable[[Any], Any]:
    return lambda block: _first(block).get(field)


KINDS: tuple[Kind, ...] = (
    Kind(
        "vpc", "aws_vpc", "ec2", "vpc", ("tags",), lambda s: {"vpc": (s.vpc.tags.get("Name", ""),)}, "id",
        (Attribute("CIDR block", "cidr_block", "cidr"),),
    ),
    Kind(
        "subnet", "aws_subnet", "ec2", "subnets", ("tags",), _by_tag(lambda s: s.vpc.subnets), "id",
        (
            Attribute("CIDR block", "cidr_block", "cidr"),
            Attribute("availability zone", "availability_zone", "availability_zone"),
        ),
    ),
    Kind(
        "instance", "aws_instance", "ec2", "instances", ("tags",), _by_tag(lambda s: s.ec2.instances), "id",
        (
            Attribute("instance type", "instance_type", "instance_type"),
            Attribute("subnet", "subnet_id", "subnet_id"),
            Attribute("root volume size (GiB)", "root_block_device", "root_volume", _root("volume_size"),
                      lambda v: (v or {}).get("size_gib")),
            Attribute("root volume type", "root_block_device", "root_volume", _root("volume_type"),
                      lambda v: (v or {}).get("type")),
            Attribute("security groups", "vpc_security_group_ids", "security_group_ids", lambda v: sorted(v or [])),
        ),
    ),
    Kind(
        "security-group", "aws_security_group", "ec2", "security_groups", ("name",),
        _by_name(lambda s: s.security_groups), "id",
        (Attribute("ingress rules", "ingress", "ingress", rules, rules),),
    ),
    Kind(
        # aws_db_instance's id is the DbiResourceId since provider 5.0; the identifier is the name
        "database", "aws_db_instance", "rds", "databases", ("identifier",),
        _by_name(lambda s: s.rds.databases, "identifier"), "resource_id",
        (
            Attribute("engine", "engine", "engine"),
            Attribute("engine version", "engine_version", "engine_version"),
            Attribute("instance class", "instance_class", "instance_class"),
            Attribute("allocated storage (GiB)", "allocated_storage", "allocated_storage_gib"),
            # 0 in the state: no autoscaling
            Attribute("storage autoscaling limit (GiB)", "max_allocated_storage", "max_allocated_storage_gib",
                      lambda v: v or None),
            Attribute("storage type", "storage_type", "storage_type"),
            Attribute("publicly accessible", "publicly_accessible", "publicly_accessible"),
            Attribute("backup retention (days)", "backup_retention_period", "backup_retention_days"),
            Attribute("parameter group", "parameter_group_name", "parameter_group"),
            Attribute("Performance Insights", "performance_insights_enabled", "performance_insights"),
        ),
    ),
    Kind("bucket", "aws_s3_bucket", "s3", "buckets", ("bucket",), _by_name(lambda s: s.s3.buckets)),
    Kind(
        "repository", "aws_ecr_repository", "ecr", "repositories", ("name",), _by_name(lambda s: s.ecr.repositories),
        compared=(
            Attribute("scan on push", "image_scanning_configuration", "scan_on_push", _root("scan_on_push")),
        ),
    ),
    Kind(
        "alarm", "aws_cloudwatch_metric_alarm", "cloudwatch", "alarms", ("alarm_name",),
        _by_name(lambda s: s.cloudwatch.alarms),
        compared=(
            Attribute("metric", "metric_name", "metric"),
            Attribute("statistic", "statistic", "statistic"),
            Attribute("comparison", "comparison_operator", "comparison"),
            Attribute("threshold", "threshold", "threshold"),
            Attribute("period (s)", "period", "period_seconds"),
            Attribute("evaluation periods", "evaluation_periods", "evaluation_periods"),
        ),
    ),
    Kind(
        "dashboard", "aws_cloudwatch_dashboard", "cloudwatch", "dashboards", ("dashboard_name",),
        _by_name(lambda s: s.cloudwatch.dashboards),
    ),
    Kind("topic", "aws_sns_topic", "sns", "topics", ("name",), _by_name(lambda s: s.sns.topics), "arn"),
    Kind(
        "function", "aws_lambda_function", "lambda", "functions", ("function_name",),
        _by_name(lambda s: s.lambda_.functions),
    ),
    Kind(
        "record", "aws_route53_record", "route53", "records", ("name", "type"),
        lambda s: {key: (r.name, r.type) for key, r in s.route53.records.items()},
        compared=(Attribute("values", "records", "values", lambda v: sorted(v or [])),),
    ),
    Kind(
        "parameter", "aws_ssm_parameter", "ssm", "parameters", ("name",), _by_name(lambda s: s.ssm.parameters),
        compared=(Attribute("type", "type", "type"),),
    ),
)  # fmt: skip
KEPT = {kind.tf_type: ("id", "arn", *kind.kept) for kind in KINDS}
# Other resource types: only what names them is kept, to know an AWS resource as managed (changes.unmanaged).
NAMING = ("id", "arn", "name", "bucket", "function_name", "alarm_name", "dashboard_name", "identifier", "tags")


def read_state(text: str, source: str) -> dict:
    """The managed resources of a state, each as {address, type, attributes} with only the kept attributes."""
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise StateError(f"terraform state {source} is not JSON: {exc}") from None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        found = state.get("version") if isinstance(state, dict) else type(state).__name__
        raise StateError(f"terraform state {source}: format version {found}, the suite reads {STATE_VERSION}")
    resources = []
    for resource in state.get("resources", []):
        if resource.get("mode") != "managed":
            continue  # data sources are read, not managed
        address = f"{resource['type']}.{resource['name']}"
        if resource.get("module"):
            address = f"{resource['module']}.{address}"
        kept = KEPT.get(resource["type"], NAMING)
        for instance in resource.get("instances", []):
            attributes = instance.get("attributes") or {}
            index = instance.get("index_key")
            resources.append(
                {
                    "address": address if index is None else f"{address}[{json.dumps(index)}]",
                    "type": resource["type"],
                    "attributes": {name: attributes[name] for name in kept if name in attributes},
                }
            )
    return {
        "serial": state.get("serial"),
        "terraform_version": state.get("terraform_version"),
        "resources": resources,
    }


def in_state(state: dict, kind: Kind, naming: tuple[str, ...]) -> dict | None:
    """The state's resource of this kind that names itself so, or None."""
    return next(
        (r for r in state["resources"] if r["type"] == kind.tf_type and kind.names_it(r["attributes"]) == naming),
        None,
    )


def known_ids(state: dict) -> set[str]:
    """Every id, ARN and name the state holds: what it manages, in the forms AWS lists them."""
    found = set()
    for resource in state["resources"]:
        for name, value in resource["attributes"].items():
            if name == "tags":
                continue
            if isinstance(value, str) and value:
                found.add(value)
    return found
