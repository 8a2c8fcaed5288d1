"""아키텍처 (Route53): each name points at its role's Elastic IP."""

import pytest

from viewster_infra.findings import expect, require

pytestmark = pytest.mark.aws("route53", "ec2")  # the AWS services these checks read (prefetch.py)


def test_route53_record_points_to_instance(record, aws):
    route53 = aws.facts("route53")
    require(f"route53 zone {route53['zone'] and route53['zone']['name']}", route53["zone"], "no public hosted zone")
    found = require(record.label, route53["records"][record.key], "no record of that name and type")
    role = record.want.points_to
    instance = require(
        f"ec2 instance {role}", aws.facts("ec2")["instances"][role], "the instance the record should point at"
    )
    elastic_ip = require(f"ec2 instance {role} Elastic IP", instance["elastic_ip"], "none attached")
    expect(record.label, f"values (the {role} Elastic IP)", [elastic_ip], found["values"])
