"""One module per AWS service, each with `collect(reader, spec) -> dict`.

A collector reads everything its service's checks need in as few calls as the API allows (one per resource kind,
paginated) and returns plain JSON-safe data keyed by spec keys, so that a check looks facts up by the same key its
test id carries. A resource that does not exist is None; the check says "not found".
"""

from viewster_infra.aws.collectors import (
    cloudtrail,
    cloudwatch,
    cost,
    ec2,
    ecr,
    lambda_,
    pi,
    rds,
    route53,
    s3,
    sns,
    ssm,
    tag,
    terraform,
)

COLLECTORS = {
    "ec2": ec2.collect,
    "rds": rds.collect,
    "s3": s3.collect,
    "ecr": ecr.collect,
    "cloudwatch": cloudwatch.collect,
    "sns": sns.collect,
    "lambda": lambda_.collect,
    "route53": route53.collect,
    "ssm": ssm.collect,
    "ce": cost.collect,  # Cost Explorer: named as IAM and its errors name it
    "tag": tag.collect,  # the Resource Groups Tagging API, named as IAM names it
    "terraform": terraform.collect,  # the Terraform state, from its S3 backend
    "cloudtrail": cloudtrail.collect,
    "pi": pi.collect,  # Performance Insights
}

# What a collector reads from another's facts (gathered first, and not counted as its own calls): CloudWatch's
# metric queries need the instances' ids; CloudTrail's push lookup starts at the oldest image that should run;
# Performance Insights is asked by each database's DbiResourceId.
NEEDS = {"cloudwatch": ["ec2"], "cloudtrail": ["ecr"], "pi": ["rds"]}
