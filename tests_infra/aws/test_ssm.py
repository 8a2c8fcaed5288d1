"""SSM Parameter Store: the parameters the services and the SSH key come from exist, as SecureString.
Only existence and type: the suite never asks for a value."""

import pytest

from viewster_infra.findings import expect, require

pytestmark = pytest.mark.aws("ssm")  # the AWS services these checks read (prefetch.py)


def test_ssm_parameter_type(parameter, aws):
    found = require(parameter.label, aws.facts("ssm")["parameters"][parameter.key], "no parameter of that name")
    expect(parameter.label, "type", parameter.want.type, found["type"])
