"""Gather first, then check: what the scan of each check's source predicts it reads is what it really reads (so
prefetching adds no call and misses nothing), and a filtered run still reads only what its checks need."""

import re

import pytest

import tests_infra
from tests_unit.test_every_check_is_proven import functions_of
from viewster_infra import prefetch

FUNCTIONS = dict(functions_of(tests_infra))


def actual(reads: set[str]) -> set[str]:
    return {"hosts" if name.startswith("host-") else name for name in reads}


def test_the_scan_predicts_what_each_check_reads(staging_hosts):
    result = staging_hosts.run()
    assert result.exit_code == 0
    predicted_by_run, read_by_run = set(), set()
    for check, reads in result.reads.items():
        predicted = prefetch.reads_of(FUNCTIONS[check.split("[")[0]])
        # a check may read less than its source can (a branch not taken, a skip): never more
        assert actual(reads) <= predicted, check
        predicted_by_run |= predicted
        read_by_run |= actual(reads)
    assert len(result.reads) > 200
    assert predicted_by_run == read_by_run  # so a whole run prefetches exactly what it reads


@pytest.mark.parametrize(
    ("selection", "calls"),
    [
        ("rds_engine_version", {"sts:GetCallerIdentity": 1, "rds:DescribeDBInstances": 1}),
        ("ssm_parameter_type", {"sts:GetCallerIdentity": 1, "ssm:DescribeParameters": 1}),
    ],
)
def test_a_filtered_run_reads_only_what_its_checks_need(staging, selection, calls):
    result = staging.run("-k", selection)
    assert result.exit_code == 0
    operations = dict(entry.rsplit(" ", 1) for entry in result.metadata["AWS operations"].split(", "))
    assert {name: int(count) for name, count in operations.items()} == calls


def test_a_run_says_where_its_time_went(staging_hosts, tmp_path):
    done = staging_hosts.cli("-k", "vpc or container_running or endpoint_health", reports_dir=tmp_path)
    assert done.returncode == 0, done.stdout
    line = next(line for line in done.stdout.splitlines() if line.startswith("Phases: "))
    assert re.fullmatch(
        r"Phases: start \d+\.\d\d s \(interpreter, imports\), setup \d+\.\d\d s \(spec, sandbox, credentials\), "
        r"collect \d+\.\d\d s, gather \d+\.\d\d s \(AWS \d+\.\d\d s, hosts \d+\.\d\d s, endpoints \d+\.\d\d s, in "
        r"parallel\), checks \d+\.\d\d s, report \d+\.\d\d s",
        line,
    ), line
