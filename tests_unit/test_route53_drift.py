"""Route53 checks, each failing on its own drift."""

from tests_unit.harness import proves


def elastic_ip(staging, role: str) -> str:
    ec2 = staging.client("ec2")
    instance = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [f"viewster-staging-{role}"]}])
    instance_id = instance["Reservations"][0]["Instances"][0]["InstanceId"]
    return ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [instance_id]}])["Addresses"][0][
        "PublicIp"
    ]


@proves("test_route53_record_points_to_instance")
def test_api_name_pointing_at_the_frontend(staging):
    route53 = staging.client("route53")
    zone = route53.list_hosted_zones()["HostedZones"][0]["Id"]
    frontend = elastic_ip(staging, "frontend")
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
                        "ResourceRecords": [{"Value": frontend}],
                    },
                }
            ]
        },
    )
    assert staging.run().failures == {
        "test_route53_record_points_to_instance[staging-api]": "route53 record A staging-api.viewster.io: values "
        f"(the backend Elastic IP) expected ['{elastic_ip(staging, 'backend')}'], found ['{frontend}']"
    }
