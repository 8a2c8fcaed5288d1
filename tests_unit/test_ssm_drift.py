"""SSM checks: existence and type, and never a value anywhere."""

from tests_unit.harness import proves
from viewster_infra.sandbox.seed import FAKE_SECRET_VALUE

NAME = "/viewster/staging/database_url"


@proves("test_ssm_parameter_type")
def test_parameter_stored_as_plain_string(staging):
    ssm = staging.client("ssm")
    ssm.delete_parameter(Name=NAME)
    ssm.put_parameter(Name=NAME, Type="String", Value=FAKE_SECRET_VALUE)
    result = staging.run()
    assert result.failures == {
        "test_ssm_parameter_type[staging-database-url]": f"ssm parameter {NAME}: type expected 'SecureString', "
        "found 'String'"
    }


def test_missing_parameter_is_not_found(staging):
    staging.client("ssm").delete_parameter(Name="/viewster/common/keypair/private_key")
    assert staging.run().failures == {
        "test_ssm_parameter_type[staging-keypair-private-key]": "ssm parameter /viewster/common/keypair/private_key: "
        "not found (no parameter of that name)"
    }
