"""Gather first, then check: what each check's fixtures and `aws` markers name is what it really reads (so
prefetching adds no call and misses nothing), and a filtered run still reads only what its checks need."""

import re
import shutil
import time
from collections import defaultdict

import pytest

from tests_unit.harness import ROOT, SPEC_DIR
from viewster_infra import prefetch
from viewster_infra.factstore import FactStore
from viewster_infra.hosts.gather import HostAccess, HostSnapshot
from viewster_infra.spec.loader import load


def actual(reads: set[str]) -> set[str]:
    return {"hosts" if name.startswith("host-") else name for name in reads}


def test_what_each_check_names_is_what_it_reads(staging_hosts):
    result = staging_hosts.run()
    assert result.exit_code == 0
    predicted_by_run, read_by_run = set(), set()
    for check, reads in result.reads.items():
        predicted = result.declared[check]
        # a check may read less than its source can (a branch not taken, a skip): never more
        assert actual(reads) <= predicted, check
        predicted_by_run |= predicted
        read_by_run |= actual(reads)
    assert len(result.reads) > 200
    assert predicted_by_run == read_by_run  # so a whole run prefetches exactly what it reads
    named, read = defaultdict(set), defaultdict(set)  # per check function, over its entries that ran
    for check, reads in result.reads.items():
        if result.outcomes[check] != "skipped":
            named[check.split("[")[0]] |= result.declared[check]
            read[check.split("[")[0]] |= actual(reads)
    assert named == read  # no check names a service it never reads (a filtered run would read it for nothing)


def test_a_check_that_reads_what_it_does_not_name_says_so(staging, tmp_path):
    for name in ("tests_infra", "specs"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("conftest.py", "pytest.ini"):
        shutil.copy(ROOT / name, tmp_path / name)
    rds = tmp_path / "tests_infra" / "aws" / "test_rds.py"
    rds.write_text(rds.read_text().replace('@pytest.mark.aws("ec2")\n', ""))
    result = staging.cli("-k", "rds_security_group", cwd=tmp_path, reports_dir=tmp_path / "reports")
    assert result.returncode == 1
    assert (
        "UndeclaredRead: test_rds_security_group[staging-database] reads aws.facts('ec2') without naming it: add "
        "@pytest.mark.aws('ec2') (or to its module's pytestmark)"
    ) in result.stdout


@pytest.mark.parametrize(
    ("selection", "calls"),
    [
        (
            "rds_engine_version",
            {
                "sts:GetCallerIdentity": 1,
                "rds:DescribeDBInstances": 1,
                "rds:DescribeEvents": 1,  # the rds collector reads the instances' events and maintenance too
                "rds:DescribePendingMaintenanceActions": 1,
            },
        ),
        ("ssm_parameter_type", {"sts:GetCallerIdentity": 1, "ssm:DescribeParameters": 1}),
    ],
)
def test_a_filtered_run_reads_only_what_its_checks_need(staging, selection, calls):
    result = staging.run("-k", selection)
    assert result.exit_code == 0
    assert result.operations == calls


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


class _Recorder:
    """Stands for the run's context: each part of the gather records when it started and ended."""

    def __init__(self, awaited: set[str]) -> None:
        self.events: list[tuple[str, str]] = []
        self.spec = type("Spec", (), {"hosts": type("Hosts", (), {"roles": {"backend": None}})()})()
        self.hosts = self
        self.snapshot = self
        self.unavailable = None
        self._awaited = awaited

    def aws_facts_needed(self) -> set[str]:
        return self._awaited

    def facts(self, kind: str) -> None:
        if kind == "backend":  # the hosts' gather: its probe waits for the RDS facts, then runs
            self.events.append(("start", "hosts"))
            self.wait_for("rds")
            time.sleep(0.05)
            self.events.append(("end", "hosts"))
            return
        self.events.append(("start", kind))
        time.sleep(0.02)
        self.events.append(("end", kind))

    def endpoint_facts(self) -> None:
        self.events.append(("start", "endpoints"))
        self.events.append(("end", "endpoints"))

    def wait_for(self, kind: str) -> None:
        while ("end", kind) not in self.events:
            time.sleep(0.001)


def test_the_aws_facts_a_probe_waits_for_are_read_before_the_other_services():
    context = _Recorder(awaited={"rds"})
    prefetch.gather(context, {"hosts", "endpoints", "aws-rds", "aws-ec2", "aws-s3", "aws-ecr"}, hosts_together=True)
    order = context.events
    assert order.index(("start", "hosts")) < order.index(("end", "rds"))  # the probes did not wait to be started
    for other in ("ec2", "s3", "ecr"):
        assert order.index(("end", "rds")) < order.index(("start", other)), order
    # and with nothing awaited, everything starts at once, as before
    context = _Recorder(awaited=set())
    context.wait_for = lambda kind: None
    prefetch.gather(context, {"hosts", "aws-rds", "aws-ec2"}, hosts_together=True)
    first_end = next(i for i, (event, _) in enumerate(context.events) if event == "end")
    assert {name for event, name in context.events[:first_end]} == {"hosts", "rds", "ec2"}


@pytest.mark.parametrize(
    ("access", "needed"),
    [
        ({"sandbox_hosts": {}}, {"rds"}),  # the sandbox names the hosts' addresses; the database's comes from RDS
        ({"ssh_config": "~/.ssh/config"}, {"rds", "ec2"}),  # ssh_config reaches the hosts; a reach needs private IPs
        ({}, {"rds", "ec2"}),  # the hosts by their Elastic IPs
    ],
)
def test_the_aws_facts_the_probes_wait_for(tmp_path, access, needed):
    spec = load(SPEC_DIR, "staging").spec
    hosts = HostSnapshot(
        FactStore(tmp_path), spec, HostAccess(env="staging", user="ubuntu", use_sudo=True, **access), None
    )
    assert hosts.aws_facts_needed() == needed
