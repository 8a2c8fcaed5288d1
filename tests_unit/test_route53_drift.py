"""Route53 checks, each failing on its own drift."""

from tests_unit.harness import proves


def elastic_ip(staging, role: str) -> str:
    ec2 = staging.client("ec2")
    instance = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [f"viewster-staging-{role}"]}])
    instance_id = instance["Reservations"][0]["Instances"][0]["InstanceId"]
    return ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [instance_id]}])["Addresses"][0][
        "PublicIp"
    ]


def point_api_at(staging, address: str) -> None:
    route53 = staging.client("route53")
    zone = route53.list_hosted_zones()["HostedZones"][0]["Id"]
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": "staging-api.viewster.io",
                        "Type": "A",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": address}],
                    },
                }
            ]
        },
    )


@proves("test_route53_record_points_to_instance")
def test_api_name_pointing_at_the_frontend(staging):
    frontend = elastic_ip(staging, "frontend")
    point_api_at(staging, frontend)
    # not propagated yet: what clients resolve is still right, the zone is not
    assert staging.run().failures == {
        "test_route53_record_points_to_instance[staging-api]": "route53 record A staging-api.viewster.io: values "
        f"(the backend Elastic IP) expected ['{elastic_ip(staging, 'backend')}'], found ['{frontend}']"
    }


@proves("test_dns_name_resolves_to_elastic_ip")
def test_clients_resolving_the_api_to_the_frontend(staging_hosts):
    backend, frontend = elastic_ip(staging_hosts, "backend"), elastic_ip(staging_hosts, "frontend")
    assert staging_hosts.run("-k", "dns").failures == {}
    point_api_at(staging_hosts, frontend)
    staging_hosts.sync_dns()  # propagated: the resolver answers with the new record
    result = staging_hosts.run("-k", "dns or route53")
    dns_server = staging_hosts.state.hosts["dns_server"]
    assert result.failures == {
        "test_route53_record_points_to_instance[staging-api]": "route53 record A staging-api.viewster.io: values "
        f"(the backend Elastic IP) expected ['{backend}'], found ['{frontend}']",
        "test_dns_name_resolves_to_elastic_ip[staging-api]": "dns staging-api.viewster.io: addresses (the backend "
        f"Elastic IP) expected ['{backend}'], found ['{frontend}']",
    }
    assert (
        f"{frontend} (asked DNS server {dns_server})"
        in result.sections["test_dns_name_resolves_to_elastic_ip[staging-api]"]
    )


@proves("test_dns_name_resolves_to_elastic_ip")
def test_a_name_missing_from_dns(staging_hosts):
    route53 = staging_hosts.client("route53")
    zone = route53.list_hosted_zones()["HostedZones"][0]["Id"]
    admin = next(
        r
        for r in route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        if r["Name"].rstrip(".") == "staging-admin.viewster.io"
    )
    route53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": admin}]}
    )
    staging_hosts.sync_dns()
    failures = staging_hosts.run("-k", "dns").failures
    assert failures == {
        "test_dns_name_resolves_to_elastic_ip[staging-admin]": "dns staging-admin.viewster.io: no answer from DNS "
        f"server {staging_hosts.state.hosts['dns_server']}: NXDOMAIN (no such name)"
    }
