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


@dataclass(frozen=True)
class Attribute:
    """One property checked both in the spec and in the state: how each side gives it."""

    label: str  # as a person reads it: "instance class"
    state: Callable[[dict], Any]
    aws: Callable[[dict], Any]


@dataclass(frozen=True)
class Kind:
    """A kind of resource the spec names, as Terraform manages it."""

    name: str  # "database": test ids and labels
    tf_type: str  # "aws_db_instance"
    service: str  # the AWS facts it is read from: "rds"
    kept: tuple[str, ...]  # the state attributes kept (besides id and arn)
    entries: Callable[[EnvironmentSpec], dict[str, tuple[str, ...]]]  # spec key -> how the state names it
    names_it: Callable[[dict], tuple[str, ...]]  # a state instance's attributes -> the same naming
    aws: Callable[[dict, str], dict | None]  # (the service's facts, spec key) -> the resource's facts
    # (the resource's facts, the service's facts, the naming) -> the id Terraform keeps for it
    aws_id: Callable[[dict, dict, tuple[str, ...]], str]
    state_id: Callable[[dict], str] = lambda attributes: attributes.get("id")
    compared: tuple[Attribute, ...] = ()


def _tag_name(attributes: dict) -> tuple[str, ...]:
    return ((attributes.get("tags") or {}).get("Name", ""),)


def _record_id(record: dict, facts: dict) -> str:
    zone = (facts.get("zone") or {}).get("id", "").rsplit("/", 1)[-1]
    return f"{zone}_{record['name']}_{record['type']}"


KINDS: tuple[Kind, ...] = (
    Kind(
        "vpc",
        "aws_vpc",
        "ec2",
        ("tags", "cidr_block"),
        entries=lambda s: {"vpc": (s.vpc.tags.get("Name", ""),)},
        names_it=_tag_name,
        aws=lambda f, key: f["vpc"],
        aws_id=lambda r, f, n: r["id"],
        compared=(Attribute("CIDR block", lambda a: a.get("cidr_block"), lambda r: r["cidr"]),),
    ),
    Kind(
        "subnet",
        "aws_subnet",
        "ec2",
        ("tags", "cidr_block", "availability_zone"),
        entries=lambda s: {key: (subnet.tags.get("Name", ""),) for key, subnet in s.vpc.subnets.items()},
        names_it=_tag_name,
        aws=lambda f, key: f["subnets"][key],
        aws_id=lambda r, f, n: r["id"],
        compared=(
            Attribute("CIDR block", lambda a: a.get("cidr_block"), lambda r: r["cidr"]),
            Attribute("availability zone", lambda a: a.get("availability_zone"), lambda r: r["availability_zone"]),
        ),
    ),
    Kind(
        "instance",
        "aws_instance",
        "ec2",
        ("tags", "instance_type", "subnet_id", "root_block_device", "vpc_security_group_ids"),
        entries=lambda s: {key: (inst.tags.get("Name", ""),) for key, inst in s.ec2.instances.items()},
        names_it=_tag_name,
        aws=lambda f, key: f["instances"][key],
        aws_id=lambda r, f, n: r["id"],
        compared=(
            Attribute("instance type", lambda a: a.get("instance_type"), lambda r: r["instance_type"]),
            Attribute("subnet", lambda a: a.get("subnet_id"), lambda r: r["subnet_id"]),
            Attribute(
                "root volume size (GiB)",
                lambda a: _first(a.get("root_block_device")).get("volume_size"),
                lambda r: (r["root_volume"] or {}).get("size_gib"),
            ),
            Attribute(
                "root volume type",
                lambda a: _first(a.get("root_block_device")).get("volume_type"),
                lambda r: (r["root_volume"] or {}).get("type"),
            ),
            Attribute(
                "security groups",
                lambda a: sorted(a.get("vpc_security_group_ids") or []),
                lambda r: r["security_group_ids"],
            ),
        ),
    ),
    Kind(
        "security-group",
        "aws_security_group",
        "ec2",
        ("name", "vpc_id", "ingress"),
        entries=lambda s: {key: (group.name,) for key, group in s.security_groups.items()},
        names_it=lambda a: (a.get("name", ""),),
        aws=lambda f, key: f["security_groups"][key],
        aws_id=lambda r, f, n: r["id"],
        compared=(Attribute("ingress rules", lambda a: rules(a.get("ingress")), lambda r: rules(r["ingress"])),),
    ),
    Kind(
        "database",
        "aws_db_instance",
        "rds",
        (
            "identifier",
            "resource_id",
            "engine",
            "engine_version",
            "instance_class",
            "allocated_storage",
            "max_allocated_storage",
            "storage_type",
            "publicly_accessible",
            "backup_retention_period",
            "parameter_group_name",
            "performance_insights_enabled",
        ),
        entries=lambda s: {key: (db.identifier,) for key, db in s.rds.databases.items()},
        names_it=lambda a: (a.get("identifier", ""),),
        aws=lambda f, key: f["databases"][key],
        # aws_db_instance's id is the DbiResourceId since provider 5.0; the identifier is the name
        aws_id=lambda r, f, n: r["resource_id"],
        compared=(
            Attribute("engine", lambda a: a.get("engine"), lambda r: r["engine"]),
            Attribute("engine version", lambda a: a.get("engine_version"), lambda r: r["engine_version"]),
            Attribute("instance class", lambda a: a.get("instance_class"), lambda r: r["instance_class"]),
            Attribute(
                "allocated storage (GiB)", lambda a: a.get("allocated_storage"), lambda r: r["allocated_storage_gib"]
            ),
            Attribute(
                "storage autoscaling limit (GiB)",
                lambda a: a.get("max_allocated_storage") or None,  # 0 in the state: no autoscaling
                lambda r: r["max_allocated_storage_gib"],
            ),
            Attribute("storage type", lambda a: a.get("storage_type"), lambda r: r["storage_type"]),
            Attribute(
                "publicly accessible", lambda a: a.get("publicly_accessible"), lambda r: r["publicly_accessible"]
            ),
            Attribute(
                "backup retention (days)",
                lambda a: a.get("backup_retention_period"),
                lambda r: r["backup_retention_days"],
            ),
            Attribute("parameter group", lambda a: a.get("parameter_group_name"), lambda r: r["parameter_group"]),
            Attribute(
                "Performance Insights",
                lambda a: a.get("performance_insights_enabled"),
                lambda r: r["performance_insights"],
            ),
        ),
    ),
    Kind(
        "bucket",
        "aws_s3_bucket",
        "s3",
        ("bucket",),
        entries=lambda s: {key: (b.name,) for key, b in s.s3.buckets.items()},
        names_it=lambda a: (a.get("bucket", ""),),
        aws=lambda f, key: f["buckets"][key],
        aws_id=lambda r, f, n: r["name"],
    ),
    Kind(
        "repository",
        "aws_ecr_repository",
        "ecr",
        ("name", "image_scanning_configuration"),
        entries=lambda s: {key: (r.name,) for key, r in s.ecr.repositories.items()},
        names_it=lambda a: (a.get("name", ""),),
        aws=lambda f, key: f["repositories"][key],
        aws_id=lambda r, f, n: r["name"],
        compared=(
            Attribute(
                "scan on push",
                lambda a: _first(a.get("image_scanning_configuration")).get("scan_on_push"),
                lambda r: r["scan_on_push"],
            ),
        ),
    ),
    Kind(
        "alarm",
        "aws_cloudwatch_metric_alarm",
        "cloudwatch",
        (
            "alarm_name",
            "namespace",
            "metric_name",
            "statistic",
            "comparison_operator",
            "threshold",
            "period",
            "evaluation_periods",
        ),
        entries=lambda s: {key: (a.name,) for key, a in s.cloudwatch.alarms.items()},
        names_it=lambda a: (a.get("alarm_name", ""),),
        aws=lambda f, key: f["alarms"][key],
        aws_id=lambda r, f, n: r["name"],
        compared=(
            Attribute("metric", lambda a: a.get("metric_name"), lambda r: r["metric"]),
            Attribute("statistic", lambda a: a.get("statistic"), lambda r: r["statistic"]),
            Attribute("comparison", lambda a: a.get("comparison_operator"), lambda r: r["comparison"]),
            Attribute("threshold", lambda a: a.get("threshold"), lambda r: r["threshold"]),
            Attribute("period (s)", lambda a: a.get("period"), lambda r: r["period_seconds"]),
            Attribute("evaluation periods", lambda a: a.get("evaluation_periods"), lambda r: r["evaluation_periods"]),
        ),
    ),
    Kind(
        "dashboard",
        "aws_cloudwatch_dashboard",
        "cloudwatch",
        ("dashboard_name",),
        entries=lambda s: {key: (d.name,) for key, d in s.cloudwatch.dashboards.items()},
        names_it=lambda a: (a.get("dashboard_name", ""),),
        aws=lambda f, key: f["dashboards"][key],
        aws_id=lambda r, f, n: r["name"],
    ),
    Kind(
        "topic",
        "aws_sns_topic",
        "sns",
        ("name",),
        entries=lambda s: {key: (t.name,) for key, t in s.sns.topics.items()},
        names_it=lambda a: (a.get("name", ""),),
        aws=lambda f, key: f["topics"][key],
        aws_id=lambda r, f, n: r["arn"],
    ),
    Kind(
        "function",
        "aws_lambda_function",
        "lambda",
        ("function_name",),
        entries=lambda s: {key: (fn.name,) for key, fn in s.lambda_.functions.items()},
        names_it=lambda a: (a.get("function_name", ""),),
        aws=lambda f, key: f["functions"][key],
        aws_id=lambda r, f, n: r["name"],
    ),
    Kind(
        "record",
        "aws_route53_record",
        "route53",
        ("name", "type", "records", "zone_id"),
        entries=lambda s: {key: (r.name, r.type) for key, r in s.route53.records.items()},
        names_it=lambda a: (str(a.get("name", "")).rstrip(".").lower(), a.get("type", "")),
        aws=lambda f, key: f["records"][key],
        aws_id=lambda r, f, n: _record_id({"name": n[0], "type": n[1]}, f),  # the zone's, the name's, the type's
        compared=(Attribute("values", lambda a: sorted(a.get("records") or []), lambda r: r["values"]),),
    ),
    Kind(
        "parameter",
        "aws_ssm_parameter",
        "ssm",
        ("name", "type"),
        entries=lambda s: {key: (p.name,) for key, p in s.ssm.parameters.items()},
        names_it=lambda a: (a.get("name", ""),),
        aws=lambda f, key: f["parameters"][key],
        aws_id=lambda r, f, n: r["name"],
        compared=(Attribute("type", lambda a: a.get("type"), lambda r: r["type"]),),
    ),
)
BY_NAME = {kind.name: kind for kind in KINDS}
KEPT = {kind.tf_type: ("id", "arn", *kind.kept) for kind in KINDS}
# Other resource types: only what names them is kept, to know an AWS resource as managed (unmanaged.py).
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
