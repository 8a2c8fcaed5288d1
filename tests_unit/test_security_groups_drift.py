"""Security group checks: a port's sources compared as a set, so a missing source and an extra one both fail."""

from tests_unit.harness import proves


def group_id(staging, name: str) -> str:
    groups = staging.client("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])
    return groups["SecurityGroups"][0]["GroupId"]


@proves("test_security_group_ingress_sources")
def test_database_port_opened_to_the_world(staging):
    staging.client("ec2").authorize_security_group_ingress(
        GroupId=group_id(staging, "viewster-staging-rds-sg"),
        IpProtocol="tcp",
        FromPort=5432,
        ToPort=5432,
        CidrIp="0.0.0.0/0",
    )
    assert staging.run().failures == {
        "test_security_group_ingress_sources[staging-database-tcp5432]": "security group viewster-staging-rds-sg "
        "tcp/5432: allowed sources expected {'group backend'}, found {'0.0.0.0/0', 'group backend'}"
    }


def test_https_closed_on_the_frontend(staging):
    staging.client("ec2").revoke_security_group_ingress(
        GroupId=group_id(staging, "viewster-staging-frontend-sg"),
        IpProtocol="tcp",
        FromPort=443,
        ToPort=443,
        CidrIp="0.0.0.0/0",
    )
    assert staging.run().failures == {
        "test_security_group_ingress_sources[staging-frontend-tcp443]": "security group viewster-staging-frontend-sg "
        "tcp/443: allowed sources expected {'0.0.0.0/0'}, found {}"
    }


def test_a_wide_port_range_counts_for_each_port_in_it(staging):
    staging.client("ec2").authorize_security_group_ingress(
        GroupId=group_id(staging, "viewster-staging-thirdparty-sg"),
        IpProtocol="tcp",
        FromPort=5000,
        ToPort=7000,
        CidrIp="10.0.0.0/8",
    )
    assert staging.run().failures == {
        "test_security_group_ingress_sources[staging-thirdparty-tcp6379]": "security group viewster-staging-thirdparty-sg "
        "tcp/6379: allowed sources expected {'group backend'}, found {'10.0.0.0/8', 'group backend'}",
        "test_security_group_ingress_sources[staging-thirdparty-tcp5672]": "security group viewster-staging-thirdparty-sg "
        "tcp/5672: allowed sources expected {'group backend'}, found {'10.0.0.0/8', 'group backend'}",
    }
