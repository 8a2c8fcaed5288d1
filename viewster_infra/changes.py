"""How the estate may change (Terraform 참조, 배포 방식), as data the checks and the report share: which principal
the spec allows, which resources are the environment's, what nobody manages, and how a change is said in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from viewster_infra import terraform
from viewster_infra.spec.model import EnvironmentSpec

# The services whose writes are judged, in CloudTrail's event sources; a test id each.
EVENT_SOURCES = {
    "ec2": "ec2.amazonaws.com",
    "rds": "rds.amazonaws.com",
    "s3": "s3.amazonaws.com",
    "ecr": "ecr.amazonaws.com",
    "cloudwatch": "monitoring.amazonaws.com",
    "sns": "sns.amazonaws.com",
    "lambda": "lambda.amazonaws.com",
    "route53": "route53.amazonaws.com",
    "ssm": "ssm.amazonaws.com",
    "iam": "iam.amazonaws.com",
}

# The kinds of resource found unmanaged: kind -> (the AWS facts it is listed in, how a person names one).
UNMANAGED_KINDS = {
    "instances": ("ec2", "ec2 instance"),
    "security-groups": ("ec2", "security group"),
    "security-group-rules": ("ec2", "security group rule"),
    "elastic-ips": ("ec2", "elastic ip"),
    "network-interfaces": ("ec2", "network interface"),
    "buckets": ("s3", "s3 bucket"),
    "repositories": ("ecr", "ecr repository"),
    "alarms": ("cloudwatch", "cloudwatch alarm"),
    "topics": ("sns", "sns topic"),
    "functions": ("lambda", "lambda function"),
    "parameters": ("ssm", "ssm parameter"),
    "records": ("route53", "route53 record"),
    "tagged": ("tag", "tagged resource"),
}
# The services whose facts name the spec's resources (the estate the state and the spec know).
UNMANAGED_SERVICES = ["ec2", "rds", "s3", "ecr", "cloudwatch", "sns", "lambda", "route53", "ssm", "tag"]
ZONE_DEFAULTS = {"NS", "SOA"}
# ARNs of the kinds above, found (and reported) by their own kind rather than again as tagged
LISTED_ELSEWHERE = (
    ":instance/",
    ":security-group/",
    ":elastic-ip/",
    ":network-interface/",
    "arn:aws:s3:::",
    ":repository/",
    ":alarm:",
    ":sns:",
    ":function:",
    ":parameter/",
    ":route53:",
)  # the records AWS makes at a zone's apex


AWS_ITSELF = "aws"  # what allowed_as says of a change AWS made by itself


def allowed_as(event: dict, spec: EnvironmentSpec) -> str | None:
    """The name of the spec's principal that made this change (an assumed-role session counts as its role),
    "aws" for AWS acting by itself (a service, or its service-linked role: RDS placing its network interface), or
    None when it was anyone else."""
    who = event.get("role") or event.get("principal") or ""
    if event.get("principal_type") == "AWSService" or ":role/aws-service-role/" in who:
        return AWS_ITSELF
    return next((name for name, arn in spec.changes.principals.items() if fnmatchcase(who, arn)), None)


def is_environments_name(name: str, spec: EnvironmentSpec) -> bool:
    """A name of this environment's (changes.names), and not another's (changes.names_excluded)."""
    name = name.rstrip(".").lower()
    return any(fnmatchcase(name, p) for p in spec.changes.names) and not any(
        fnmatchcase(name, p) for p in spec.changes.names_excluded
    )


def who(event: dict) -> str:
    """ "arn:aws:iam::123456789012:user/gary (console)", "role viewster-terraform (session terraform)"."""
    if event.get("role"):
        said = f"{event['role']} (session {event['principal'].rsplit('/', 1)[-1]})"
    else:
        said = event.get("principal") or "unknown"
    return f"{said} (console)" if event.get("console") else said


def when(event: dict) -> str:
    return datetime.fromisoformat(event["time"]).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe(event: dict) -> str:
    """One change in one line: what, on which resource, who, from where, when."""
    on = ", ".join(event["resources"][:3]) or "no named resource"
    return f"{event['name']} on {on} by {who(event)} from {event.get('source_ip') or 'unknown'} at {when(event)}"


@dataclass(frozen=True)
class Estate:
    """What the environment is known to hold: the state's ids and names, and the ids the spec's resources have."""

    ids: frozenset[str]

    def knows(self, *names: str) -> bool:
        return any(n in self.ids for n in names if n)


def estate(state: dict, facts: dict[str, dict | None]) -> Estate:
    """The state's ids, ARNs and names, and those of every resource the spec names as AWS gives them."""
    ids = set(terraform.known_ids(state))
    for service, data in facts.items():
        for value in _ids_in(data, service):
            ids.add(value)
    return Estate(frozenset(ids))


def _ids_in(data: dict | None, service: str) -> list[str]:
    """The ids and names in a service's facts of the spec's resources (not its `all_*` listings)."""
    found = []
    for key, entries in (data or {}).items():
        if key.startswith("all_") or key == "in_vpc" or not isinstance(entries, dict):
            continue
        items = entries.values() if all(isinstance(v, (dict, type(None))) for v in entries.values()) else [entries]
        for item in items:
            if isinstance(item, dict):
                found += [str(item[k]) for k in ("id", "name", "arn", "identifier", "resource_id") if item.get(k)]
    return found


def unmanaged(kind: str, spec: EnvironmentSpec, facts: dict, state: dict, known: Estate) -> list[tuple[str, str]]:
    """(resource, what it is) for each resource of this kind in the environment that neither the state nor the
    spec knows, as a person names it."""
    label = UNMANAGED_KINDS[kind][1]
    if kind == "instances":
        return [
            (f"{label} {i['id']}", f"Name {i['name']!r}, launched {i['launched'][:19]}Z")
            for i in facts["in_vpc"]["instances"]
            if not known.knows(i["id"])
        ]
    if kind == "security-groups":
        return [
            (f"{label} {g['id']}", f"named {g['name']!r}")
            for g in facts["in_vpc"]["security_groups"]
            if not known.knows(g["id"])
        ]
    if kind == "security-group-rules":
        return _unmanaged_rules(facts, state, label)
    if kind == "elastic-ips":
        return [
            (f"{label} {a['public_ip']}", f"allocation {a['id']}" + (f", on {a['instance']}" if a["instance"] else ""))
            for a in facts["in_vpc"]["addresses"]
            if not known.knows(a["id"], a["public_ip"])
        ]
    if kind == "network-interfaces":
        return [
            (f"{label} {n['id']}", n["description"] or "no description")
            for n in facts["in_vpc"]["network_interfaces"]
            if not known.knows(n["id"])
        ]
    if kind == "topics":
        return [
            (f"{label} {arn.rsplit(':', 1)[1]}", arn)
            for arn in facts["all_topics"]
            if is_environments_name(arn.rsplit(":", 1)[1], spec) and not known.knows(arn)
        ]
    if kind == "parameters":
        return [
            (f"{label} {name}", "under the environment's path")
            for name in facts["all_parameters"]
            if not known.knows(name)
        ]
    if kind == "records":
        return _unmanaged_records(spec, facts, known, label)
    if kind == "tagged":
        return [
            (f"{label} {_short(arn)}", arn)
            for arn in facts["arns"]
            if not known.knows(arn, _short(arn)) and not any(part in arn for part in LISTED_ELSEWHERE)
        ]
    listing = {
        "buckets": "all_buckets",
        "repositories": "all_repositories",
        "alarms": "all_alarms",
        "functions": "all_functions",
    }
    return [
        (f"{label} {name}", "named as the environment's")
        for name in facts[listing[kind]]
        if is_environments_name(name, spec) and not known.knows(name)
    ]


def _short(arn: str) -> str:
    """An ARN's resource id: arn:aws:ec2:...:instance/i-0abc -> i-0abc, arn:aws:s3:::bucket -> bucket."""
    return arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _unmanaged_rules(facts: dict, state: dict, label: str) -> list[tuple[str, str]]:
    """Rules of the groups the state manages that the state's ingress blocks do not hold."""
    managed = {
        r["attributes"].get("id"): r["attributes"] for r in state["resources"] if r["type"] == "aws_security_group"
    }
    found = []
    for group in facts["in_vpc"]["security_groups"]:
        if group["id"] not in managed:
            continue  # an unmanaged group is a finding of its own
        extra = sorted(
            set(terraform.rules(group["ingress"])) - set(terraform.rules(managed[group["id"]].get("ingress")))
        )
        found += [(f"{label} {group['name']} {rule}", f"in {group['id']}") for rule in extra]
    return found


def _unmanaged_records(spec: EnvironmentSpec, facts: dict, known: Estate, label: str) -> list[tuple[str, str]]:
    zone = (facts.get("zone") or {}).get("id", "").rsplit("/", 1)[-1]
    found = []
    for entry in facts["all_records"]:
        name, kind = entry.rsplit(" ", 1)
        if kind in ZONE_DEFAULTS and name == spec.route53.zone:
            continue  # AWS's own records of the zone
        wanted = {(r.name, r.type) for r in spec.route53.records.values()}
        if (name, kind) in wanted or not is_environments_name(name, spec):
            continue
        if not known.knows(f"{zone}_{name}_{kind}"):
            found.append((f"{label} {kind} {name}", f"in zone {spec.route53.zone}"))
    return found


def touches(event: dict, known: Estate, spec: EnvironmentSpec) -> bool:
    """The change named a resource of this environment: one the state or the spec knows (a subnet of its VPC for
    an instance launched by hand), one with the environment's name, or a parameter under its path."""
    for name in event["resources"]:
        if known.knows(name) or is_environments_name(_short(name), spec):
            return True
        if name.startswith(spec.changes.parameters_path.rstrip("/") + "/"):
            return True
    return False


def last_change(events: list[dict], names: set[str]) -> dict | None:
    """The newest change that named any of these ids or names (events come newest first)."""
    return next((e for e in events if not e.get("error") and names & set(e["resources"])), None)


def aliases(facts: dict[str, dict | None]) -> dict[str, str]:
    """name -> id for what a finding names by name and CloudTrail by id (instances, groups, the VPC, subnets)."""
    ec2 = facts.get("ec2") or {}
    found = {}
    for item in [ec2.get("vpc"), *(ec2.get("subnets") or {}).values(), *(ec2.get("instances") or {}).values()]:
        if item and item.get("name"):
            found[item["name"]] = item["id"]
    for group in (ec2.get("in_vpc") or {}).get("security_groups", []):
        found[group["name"]] = group["id"]
    return found


def last_change_of(resource: str, events: list[dict], facts: dict[str, dict | None]) -> dict | None:
    """The newest change to the resource a finding names ("security group viewster-staging-backend-sg tcp/22"):
    by its names in the finding's words, and their ids."""
    names = {word.strip("(),:'\"") for word in resource.split()}
    known = aliases(facts)
    names |= {known[name] for name in names if name in known}
    return last_change(events, {n for n in names if len(n) > 3})


def section(spec: EnvironmentSpec, facts: dict[str, dict | None], error: str | None) -> dict:
    """The report's account of who changed the environment in CloudTrail's window, allowed or not: every write on
    its resources, newest first, each with whether a principal the spec allows made it."""
    trail = facts.get("cloudtrail")
    if trail is None:
        return {"read": False, "error": error, "events": []}
    known = estate((facts.get("terraform") or {"resources": []}), {s: facts.get(s) for s in UNMANAGED_SERVICES})
    events = [e for e in trail["writes"] if not e.get("error") and touches(e, known, spec)]
    return {
        "read": True,
        "error": None,
        "since": trail["since"],
        "until": trail["until"],
        "regions": trail["regions"],
        "other_writes": len(trail["writes"]) - len(events),
        "events": [
            {
                "time": e["time"],
                "what": e["name"],
                "service": e["source"].split(".", 1)[0],
                "resources": e["resources"],
                "who": who(e),
                "console": e["console"],
                "source_ip": e.get("source_ip"),
                "region": e["region"],
                "allowed_as": allowed_as(e, spec),
            }
            for e in events
        ],
    }
