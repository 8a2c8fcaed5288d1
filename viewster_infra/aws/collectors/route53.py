"""Route53: the environment's records in the hosted zone the spec names."""

from __future__ import annotations

from viewster_infra.aws.collectors._common import RunOptions, paginate
from viewster_infra.spec.model import EnvironmentSpec


def collect(reader, spec: EnvironmentSpec, options: RunOptions) -> dict:
    route53 = reader.client("route53")
    zone_name = spec.route53.zone + "."
    zone = next(
        (
            z
            for z in paginate(route53, "list_hosted_zones", "HostedZones")
            if z["Name"] == zone_name and not z.get("Config", {}).get("PrivateZone")
        ),
        None,
    )
    if zone is None:
        return {"zone": None, "records": {key: None for key in spec.route53.records}, "all_records": []}
    found = {}
    for record in paginate(route53, "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone["Id"]):
        found[(record["Name"].rstrip(".").lower(), record["Type"])] = {
            "values": sorted(r["Value"] for r in record.get("ResourceRecords", [])),
            "alias": record.get("AliasTarget", {}).get("DNSName"),
        }
    return {
        "zone": {"id": zone["Id"], "name": spec.route53.zone},
        "records": {key: found.get((want.name, want.type)) for key, want in spec.route53.records.items()},
        "all_records": sorted(f"{name} {kind}" for name, kind in found),
    }
