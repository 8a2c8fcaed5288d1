"""Runs the real suite against a real sandbox from inside a unit test, and reads back what each check said.

A `Sandbox` is one moto server seeded from the spec. `reset()` makes it compliant again (moto's reset plus a fresh
seed, under a second), a drift is made with plain boto3 through `client()`, and `run()` runs tests_infra in-process
with the same options a person would type, returning every check's outcome and one-line message.
"""

from __future__ import annotations

import gc
import json
import shlex
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import boto3
import pytest
import requests
import yaml

from viewster_infra.aws.reader import SANDBOX_CREDENTIALS
from viewster_infra.sandbox import ecr_images, lifecycle, moto_server, terraform_state
from viewster_infra.sandbox.aws_session import sandbox_session
from viewster_infra.sandbox.hosts import init, network, registry, render
from viewster_infra.sandbox.hosts import lifecycle as hosts
from viewster_infra.sandbox.seed import COMPLIANT_SCAN, as_principal, scan_results, seed
from viewster_infra.spec.loader import load, merged_document
from viewster_infra.spec.model import EnvironmentSpec

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = ROOT / "specs"
# The tests that need a production sandbox run on one xdist worker (make test: --dist loadgroup), so one is started
# in all instead of one per worker (12 s and 7 s of CPU each).
PRODUCTION = pytest.mark.xdist_group("production")


@dataclass
class SuiteResult:
    exit_code: int
    outcomes: dict[str, str] = field(default_factory=dict)  # check id -> passed / failed / skipped
    messages: dict[str, str] = field(default_factory=dict)  # check id -> the failure's text
    sections: dict[str, str] = field(default_factory=dict)  # check id -> its report sections (evidence), as text
    report: dict = field(default_factory=dict)  # the JSON report the run wrote (run facts, summary, results)
    settled: dict[str, str] = field(default_factory=dict)  # check id -> how --settle ended for it
    reads: dict[str, set[str]] = field(default_factory=dict)  # check id -> the facts it read ("aws-ec2", ...)
    declared: dict[str, set[str]] = field(default_factory=dict)  # check id -> what its fixtures and markers name
    properties: dict[str, dict[str, str]] = field(default_factory=dict)  # check id -> control, severity, ...

    @property
    def failures(self) -> dict[str, str]:
        return {name: self.messages[name] for name, outcome in self.outcomes.items() if outcome == "failed"}

    @property
    def api_calls(self) -> int:
        return self.report["run"]["aws_api_calls"]

    @property
    def operations(self) -> dict[str, int]:
        """AWS operations the run made, with their counts ("rds:DescribeDBInstances": 1)."""
        return self.report["run"]["aws_operations"]

    def ssh_commands(self, role: str) -> int:
        """SSH commands the run sent to one host."""
        return self.report["run"]["ssh"][role]["ssh commands"]


class _Recorder:
    """In-process plugin: every check's outcome and message, and the run's JSON report at the very end."""

    def __init__(self, result: SuiteResult) -> None:
        self.result = result

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = report.nodeid.split("::")[-1]
        for key, text in report.user_properties if report.when == "teardown" else ():
            if key == "reads":
                self.result.reads[name] = set(text.split())
        if report.when == "call" or report.outcome != "passed":
            self.result.outcomes[name] = report.outcome
            self.result.properties[name] = dict(report.user_properties)
            self.result.messages[name] = _said(report)
            self.result.sections[name] = "\n".join(f"{title}\n{text}" for title, text in report.sections)
            for key, text in report.user_properties:
                if key == "settle":
                    self.result.settled[name] = text

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from viewster_infra import prefetch

        self.result.declared = {item.name: prefetch.reads_of(item) for item in items}

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from viewster_infra.plugin import DOCUMENT

        self.result.report = session.config.stash.get(DOCUMENT, {})


def _said(report: pytest.TestReport) -> str:
    """What a check said: its finding's line (also of a waived or advisory failure), else pytest's own text."""
    from viewster_infra.outcomes import ATTRIBUTE
    from viewster_infra.results import CheckResult

    data = getattr(report, ATTRIBUTE, None)
    result = CheckResult.from_dict(data) if data else None
    return result.finding.line if result is not None and result.finding is not None else report.longreprtext


def run_suite(*args: str, reports_dir: Path) -> SuiteResult:
    """pytest tests_infra ARGS, in this process, with reports kept out of the repository's reports/."""
    result = SuiteResult(exit_code=-1)
    argv = [
        str(ROOT / "tests_infra"),
        f"--rootdir={ROOT}",
        f"-c={ROOT / 'pytest.ini'}",
        f"--reports-dir={reports_dir}",
        "-p",
        "no:cacheprovider",
        "-q",
        *args,
    ]
    # What this process holds already is not the run's: left out of the collections pytest makes at the end of a
    # session (0.2-0.5 s a run in a worker that has run many), the run's own objects are still collected.
    gc.freeze()
    result.exit_code = int(pytest.main(argv, plugins=[_Recorder(result)]))
    return result


class Sandbox:
    def __init__(self, env: str, state_dir: Path, reports_dir: Path) -> None:
        self.env = env
        self.state_dir = state_dir
        self.reports_dir = reports_dir
        self.spec = load(SPEC_DIR, env).spec
        self.state = lifecycle.up(env, SPEC_DIR, state_dir)

    def reset(
        self,
        drift: Callable[[dict], None] | None = None,
        scan_counts: dict[str, dict[str, int]] | None = None,
        metrics: bool = True,
        costs: dict[str, float] | None = None,
    ) -> None:
        """Back to a compliant replica: moto's state put back as the sandbox seeded it (its snapshot), and the DNS
        server synced with it (a test may have changed a record).

        The other arguments seed a replica that differs from the spec instead: moto forgotten, seeded again, and the
        hosts' containers redeployed (the images were just pushed anew, and a deploy starts containers after the
        push). With `drift`, from a changed copy of the spec, for what cannot be changed on a live resource (a VPC's
        CIDR, a DB engine, an instance's subnet): `drift` edits the spec document in place. With `scan_counts`
        (ecr.repositories key -> severity counts), that repository's latest image scans so. metrics=False leaves
        CloudWatch without datapoints; `costs` is this month's cost per service.
        """
        if self.state.hosts is not None:
            hosts.reset_statement_statistics(self.state.hosts["hosts"]["database"]["address"])
        if drift is None and scan_counts is None and metrics and costs is None:
            moto_server.restore(self.state.aws_endpoint_url)
            self.sync_dns()
            return
        requests.post(f"{self.state.aws_endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
        spec = self.spec
        if drift is not None:
            document = merged_document(SPEC_DIR, self.env)
            drift(document)
            spec = EnvironmentSpec.model_validate(document)
        seed(self.state.aws_endpoint_url, spec, self.env, scan_counts, metrics, costs)
        if self.state.hosts is not None:  # the reseeded instance's DbiResourceId
            hosts.performance_insights_source(
                self.state.aws_endpoint_url, self.spec, self.state.hosts["hosts"]["database"]["address"]
            )
        self.sync_dns()
        self.redeploy()

    def sync_dns(self) -> None:
        """The sandbox's DNS server serves Route53 as it is now (reseeding allocates new Elastic IPs; a drift test
        that changes a record calls this as propagation would)."""
        if self.state.hosts is not None:
            hosts.sync_dns(
                lifecycle.host_dir(self.env, self.state_dir),
                self.spec,
                self.state.aws_endpoint_url,
                self.state.hosts["hosts"]["dns"]["netns"],
            )

    def redeploy(self) -> None:
        """`docker restart` of every container whose image comes from ECR, all hosts at once, until the backend's
        worker consumes its queues again (the next run reads their consumers)."""
        if self.state.hosts is None:
            return
        deployed = {
            role: " ".join(name for name, c in spec.containers.items() if c.ecr_repository is not None)
            for role, spec in self.spec.hosts.roles.items()
        }
        roles = [role for role, names in deployed.items() if names]
        with ThreadPoolExecutor() as pool:
            list(pool.map(lambda role: self.ssh(role, f"docker restart {deployed[role]}"), roles))
        # `docker restart` returns once the new container runs: the old worker is gone by now, however long the
        # stop took (the broker's figures from before this moment may still count it)
        self.wait_for_the_worker(since=time.monotonic())

    def push_image(
        self, repository_key: str, commit: str, tags: tuple[str, ...] = (), by: boto3.Session | None = None
    ) -> ecr_images.Image:
        """Push the image of `commit` to a repository, tagged with its short SHA and `tags`, as CI's build does (as
        the CI role, or as the principal of `by`), and scan it clean as scan-on-push would (moto scans nothing)."""
        repository = self.spec.ecr.repositories[repository_key].name
        image = ecr_images.build(repository, commit)
        ecr = self.client("ecr", by or self.principal(self.spec.changes.image_pusher))
        for tag in (image.tag, *tags):
            ecr.put_image(
                repositoryName=repository, imageManifest=image.manifest, imageTag=tag, imageDigest=image.digest
            )
        ecr.start_image_scan(repositoryName=repository, imageId={"imageDigest": image.digest})
        state = self.state
        scan_results(
            state.aws_endpoint_url, state.region, state.account_id, [(repository, image.digest, COMPLIANT_SCAN)]
        )
        return image

    def push_to_registry(self, image: ecr_images.Image, tags: tuple[str, ...] = ()) -> None:
        """The image into the hosts' registry too, so that a host can pull and run it (`docker push`'s half)."""
        hosts_dir = lifecycle.host_dir(self.env, self.state_dir)
        registry.push(
            self.state.hosts["hosts"]["registry"]["address"],
            registry.ecr_name(self.state.account_id, self.state.region),
            str(hosts_dir / "ca" / "ca.pem"),
            [image],
            {image.digest: list(tags)},
        )

    def wait_for_the_worker(self, since: float | None = None) -> None:
        """Until the backend's worker consumes every queue again, as the broker reports it after `since` (when the
        old worker was stopped; by default now: a test calls this right after starting a new backend container)."""
        address, queues = self._broker()
        hosts.wait_consumed(address, queues, time.monotonic() + 30, since=time.monotonic() if since is None else since)

    def wait_until_consumed(self) -> None:
        """Until the broker reports the backend's worker consuming every queue: a drift test starts only on an estate
        that is compliant in every fact its run reads, and an earlier test may have left the worker reconnecting
        (its broker or its host cut off, restarted). At once when it consumes already."""
        if self.state.hosts is not None:
            address, queues = self._broker()
            hosts.wait_consumed(address, queues, time.monotonic() + 30)

    def delete_queues(self) -> None:
        """The broker's queues deleted with every message in them, ready or unacknowledged, through the management
        API; their consumer is told (basic.cancel) and the backend's worker declares them again, empty, when it
        (re)connects. What a test that piles messages up leaves behind, gone without restarting the broker (7 s)."""
        address, queues = self._broker()
        for queue in queues:
            requests.delete(
                f"http://{address}:15672/api/queues/%2F/{quote(queue.name, safe='')}",
                auth=hosts.BROKER_AUTH,
                timeout=5,
            ).raise_for_status()

    def _broker(self) -> tuple[str, list]:
        """The RabbitMQ host's address and the queues the spec gives it."""
        broker = next(key for key, role in self.spec.hosts.roles.items() if role.rabbitmq is not None)
        return self.state.hosts["hosts"][broker]["address"], list(
            self.spec.hosts.roles[broker].rabbitmq.queues.values()
        )

    def aws_requests(self) -> int:
        """Requests the sandbox's AWS has answered so far (its server logs one line for each)."""
        log = self.state_dir / f"{self.env}-moto.log"
        return sum(1 for line in log.read_text().splitlines() if '"POST ' in line or '"GET ' in line)

    def ssh(self, role: str, command: str) -> str:
        """Run a command on a replica host, as an operator with root would (drift is made the way it happens in
        life); the suite itself logs in as the spec's SSH user."""
        done = subprocess.run(
            ["ssh", "-F", self.state.hosts["ssh_config"], "-l", "root", f"{self.env}-{role}", command],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"{role}: {command}: {done.stderr}"
        return done.stdout

    def restart_host(self, name: str) -> None:
        """Back to a compliant replica of one host: killed and started again from freshly written files."""
        hosts.restart(
            self.env,
            self.state.host_slot,
            lifecycle.host_dir(self.env, self.state_dir),
            self.spec,
            self.state.aws_endpoint_url,
            name,
        )

    def recreate_container(self, role: str, name: str) -> None:
        """Back to a compliant replica of one container, its host left as it is: removed and run again as the
        host's deploy ran it (a fresh process, its runtime settings and data gone with the old one)."""
        config = json.loads((lifecycle.host_dir(self.env, self.state_dir) / "hosts" / role / "host.json").read_text())
        container = next(c for c in config["containers"] if c["name"] == name)
        self.ssh(
            role, f"docker rm -f {shlex.quote(name)} >/dev/null; {shlex.join(init.run_argv(container))} >/dev/null"
        )
        # since the command returned: the old container (and its worker) was removed before that
        hosts.wait_ready(self.env, self.state.host_slot, self.spec, role, since=time.monotonic())

    def link_down(self, role: str) -> None:
        """The host cut off the network (its link down), as a crashed NIC or a security group dropping all would."""
        network.ip("-n", self.state.hosts["hosts"][role]["netns"], "link", "set", "eth0", "down")

    def link_up(self, role: str) -> None:
        """Its link up again, once its services answer and the backend's worker still consumes (a broker cut off
        for a few seconds keeps its connections: TCP retransmits)."""
        network.ip("-n", self.state.hosts["hosts"][role]["netns"], "link", "set", "eth0", "up")
        hosts.wait_ready(self.env, self.state.host_slot, self.spec, role)

    def kill_host(self, name: str) -> None:
        """Every process of one host killed at once, as a crashed machine (its namespace stays)."""
        netns = self.state.hosts["hosts"][name]["netns"]
        pids = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True).stdout.split()
        subprocess.run(["kill", "-9", *pids], capture_output=True)  # children may go with their parent first

    def reissue_certificate(self, role: str, names: list[str], days: int) -> None:
        """A new TLS certificate on a host, then nginx reloaded, as a renewal (or a botched one) would."""
        env_dir = lifecycle.host_dir(self.env, self.state_dir)
        render.certificate_for(env_dir / "hosts" / role / "etc" / "nginx", env_dir, names, days)
        self.reload_nginx(role)

    def reload_nginx(self, role: str) -> None:
        """`nginx -s reload`, returning once new workers serve. The signal returns at once; the master then starts
        new workers while the old ones finish, so a run right after could still meet the old configuration."""
        # One SSH command: the wait runs on the host. Old workers are renamed "... is shutting down", so the
        # pattern's pids are all new once none of them was there before the reload.
        workers = "pgrep -f '^nginx: worker process$' | sort"
        self.ssh(
            role,
            f"before=$({workers}); nginx -s reload; for i in $(seq 200); do now=$({workers}); "
            '[ -n "$now" ] && [ -z "$(printf \'%s\\n%s\\n\' "$before" "$now" | sort | uniq -d)" ] && exit 0; '
            "sleep 0.05; done; echo 'nginx started no new workers within 10 s of a reload' >&2; exit 1",
        )

    def client(self, service: str, session: boto3.Session | None = None, region: str | None = None):
        """A plain (writing) boto3 client on the sandbox, for making drift: as the account's root (the sandbox's dummy
        keys), or as the principal of `session` (`person`, `principal`)."""
        if session is not None:
            return session.client(service, endpoint_url=self.state.aws_endpoint_url, region_name=region)
        return boto3.client(
            service,
            region_name=region or self.state.region,
            endpoint_url=self.state.aws_endpoint_url,
            **SANDBOX_CREDENTIALS,
        )

    def terraform_apply(self, change: Callable[[Callable[[str], object]], object]) -> None:
        """A drift that went through Terraform, as a bad `terraform apply` makes it: `change(client)` makes it with
        the Terraform role's clients (`client("ecr")`), and the state is written again from AWS after it. The
        change-control checks find nothing to say; the checks of what changed do."""
        session = self.principal("terraform")

        def client(service: str):
            return self.client(service, session)

        change(client)
        terraform_state.write(client, self.spec, self.env)

    def principal(self, name: str) -> boto3.Session:
        """A session of the role the spec allows as `name` (changes.principals: "terraform", "ci")."""
        return as_principal(self.state.aws_endpoint_url, sandbox_session(self.state.region), self.spec, name)

    def person(self, user: str = "gary", console: bool = True, source_ip: str = "203.0.113.7") -> boto3.Session:
        """A person's session: an IAM user of the account with an access key, calling from `source_ip` and, with
        `console`, through the AWS Console (its user agent; the sandbox's CloudTrail marks the session so)."""
        iam = self.client("iam")
        try:
            iam.create_user(UserName=user)
        except iam.exceptions.EntityAlreadyExistsException:
            pass
        key = iam.create_access_key(UserName=user)["AccessKey"]
        session = sandbox_session(
            self.state.region, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
        )
        agent = "console.amazonaws.com" if console else "aws-cli/2.17.0 Python/3.11"

        def as_seen(request, **_):
            request.headers["User-Agent"] = agent
            request.headers["X-Forwarded-For"] = source_ip  # where the sandbox's CloudTrail takes the address from

        session.events.register("before-send", as_seen)
        return session

    def run(self, *args: str, changes: bool = False, reports_dir: Path | None = None) -> SuiteResult:
        """The suite on this sandbox. The change-control checks (tests_infra/changes/: who made a change, through
        Terraform or not) are left out unless `changes`: the other drift tests make their drift as the account's
        root, which those checks would rightly report too; test_changes_drift.py proves them."""
        # reports_dir: where its report goes, and where the previous report of the environment is looked for
        # (CloudTrail is read from that report's start)
        ignore = () if changes else (f"--ignore={ROOT / 'tests_infra' / 'changes'}",)
        return run_suite(
            f"--env={self.env}",
            "--sandbox",
            f"--sandbox-dir={self.state_dir}",
            *ignore,
            *args,
            reports_dir=reports_dir or self.reports_dir,
        )

    def cli(self, *args: str, reports_dir: Path, **options) -> subprocess.CompletedProcess:
        """`python -m pytest --env=ENV --sandbox ARGS` in a subprocess: exit code and exactly what is printed.
        `options` go to run_pytest (cwd: a copy of the checks; env_overrides: TMPDIR, HOME, ...)."""
        from tests_unit.cli import run_pytest

        return run_pytest(
            f"--env={self.env}",
            "--sandbox",
            f"--sandbox-dir={self.state_dir}",
            f"--reports-dir={reports_dir}",
            *args,
            **options,
        )

    def down(self) -> None:
        lifecycle.down(self.env, self.state_dir)


def set_live(spec_dir: Path, **limits) -> None:
    """Change limits of the `live` section in a copy of the spec (common.yaml), for a drift test's threshold."""
    path = spec_dir / "common.yaml"
    common = yaml.safe_load(path.read_text())
    common["live"].update(limits)
    path.write_text(yaml.safe_dump(common, allow_unicode=True))


def proves(*check_names: str):
    """Marks a unit test as the drift proof of these checks (tests_unit/test_every_check_is_proven.py reads it)."""

    def mark(function):
        function.proves = check_names
        return function

    return mark
