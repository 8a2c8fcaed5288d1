"""The spec validator: every spec file loads, and each kind of mistake is one line naming file and field."""

import shutil

import pytest
import yaml

from tests_unit.harness import SPEC_DIR
from viewster_infra.spec.loader import SpecError, environments, load


@pytest.fixture
def specs(tmp_path):
    copy = tmp_path / "specs"
    shutil.copytree(SPEC_DIR, copy)
    return copy


def edit(path, change):
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document))


def test_every_environment_loads():
    assert environments(SPEC_DIR) == ["production", "staging"]
    for env in environments(SPEC_DIR):
        assert load(SPEC_DIR, env).spec.rds.databases["database"].identifier == f"viewster-{env}-database"


def test_values_are_read_for_their_meaning():
    spec = load(SPEC_DIR, "staging").spec
    assert spec.cloudwatch.alarms["rds-storage-low"].threshold == 5 * 1024**3  # "5 GiB" is a byte count
    assert spec.cloudwatch.alarms["frontend-ec2-cpu-high"].threshold == 70
    assert spec.route53.records["api"].name == "staging-api.viewster.io"


def test_unknown_key_is_an_error(specs):
    edit(specs / "common.yaml", lambda d: d["s3"]["buckets"]["assets"].update(encrpytion="AES256"))
    with pytest.raises(SpecError, match=r"common.yaml: s3.buckets.assets.encrpytion: extra inputs are not permitted$"):
        load(specs, "staging")


def test_env_file_is_named_when_the_mistake_is_there(specs):
    edit(specs / "production.yaml", lambda d: d["vpc"].update(cidr="10.1.0.0/33"))
    with pytest.raises(SpecError, match=r"production.yaml: vpc.cidr: .* \(found '10.1.0.0/33'\)$"):
        load(specs, "production")


def test_dangling_reference_is_an_error(specs):
    edit(specs / "staging.yaml", lambda d: d["route53"]["records"]["api"].update(points_to="api-server"))
    with pytest.raises(SpecError, match=r"route53.records.api.points_to names 'api-server', which is not one of"):
        load(specs, "staging")


def test_missing_field_is_an_error(specs):
    edit(specs / "common.yaml", lambda d: d["rds"]["databases"]["database"].pop("engine_version"))
    with pytest.raises(
        SpecError, match=r"common.yaml or \S+/staging.yaml: rds.databases.database.engine_version: field required$"
    ):
        load(specs, "staging")


def test_yaml_syntax_error_names_the_line(specs):
    (specs / "staging.yaml").write_text("vpc:\n  cidr: [10.2.0.0/16\n")
    with pytest.raises(SpecError, match=r"staging.yaml: line \d+: not valid YAML"):
        load(specs, "staging")
