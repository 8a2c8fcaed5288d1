"""--diagnose: each of the guide's five checklists names the first broken link where a drift was placed, also when
a later link is broken too; a run without it says which checklists its failures belong to. The chains are data:
every link names checks that exist, with entries the spec has."""

import json

import pytest

import tests_infra
from tests_unit.harness import SPEC_DIR
from tests_unit.test_every_check_is_proven import functions_of
from tests_unit.test_live_drift import report
from tests_unit.test_security_groups_drift import group_id
from viewster_infra import diagnosis

CHAINS = diagnosis.load(SPEC_DIR)
WEBSOCKET_SNIPPET = "/etc/nginx/snippets/websocket.conf"


def diagnosed(sandbox, key: str) -> dict:
    """Run --diagnose=KEY; the chain as the JSON report records it."""
    before = set(sandbox.reports_dir.glob("*.json"))
    sandbox.run(f"--diagnose={key}")
    (newest,) = set(sandbox.reports_dir.glob("*.json")) - before
    chains = json.loads(newest.read_text())["diagnosis"]["chains"]
    assert [c["key"] for c in chains] == [key]
    return chains[0]


def states(chain: dict) -> dict[str, str]:
    return {s["number"]: s["state"] for s in chain["steps"]}


def revoke(sandbox, name: str, port: int, **source) -> None:
    permission = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if "cidr" in source:
        permission["IpRanges"] = [{"CidrIp": source["cidr"]}]
    else:
        permission["UserIdGroupPairs"] = [{"GroupId": group_id(sandbox, source["group"])}]
    sandbox.client("ec2").revoke_security_group_ingress(GroupId=group_id(sandbox, name), IpPermissions=[permission])


def test_every_link_names_checks_that_exist():
    checks = {name for name, _ in functions_of(tests_infra)}
    assert set(CHAINS.chains) == {"api", "websocket", "db", "redis", "cpu"}
    for key, chain in CHAINS.chains.items():
        for _, link in chain.steps():
            for pattern in link.checks:
                assert pattern.partition("[")[0] in checks, f"{key}: {link.title}: {pattern}"


def test_every_link_entry_is_a_check_this_environment_runs(staging, tmp_path):
    done = staging.cli("--collect-only", "-q", reports_dir=tmp_path)
    collected = {line.split("::")[-1] for line in done.stdout.splitlines() if "::" in line}
    assert len(collected) > 200
    for key, chain in CHAINS.chains.items():
        for _, link in chain.steps():
            for pattern in link.checks:
                assert any(diagnosis.matches(pattern, c, "staging") for c in collected), f"{key}: {pattern}"


def test_api_first_broken_link_is_the_stopped_container(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.ssh("backend", "docker stop backend-blue")  # link 2
    revoke(staging_hosts, "viewster-staging-backend-sg", 8080, cidr="0.0.0.0/0")  # link 5, later
    chain = diagnosed(staging_hosts, "api")
    assert chain["first_broken"] == "2"
    assert states(chain) == {
        "symptom": "broken",
        "1": "ok",
        "2": "broken",
        "3": "ok",
        "4": "ok",
        "5": "broken",
        "6": "ok",
    }
    assert "backend container backend-blue: state expected 'running', found 'exited'" in chain["steps"][2]["findings"]


def test_websocket_first_broken_link_is_the_read_timeout(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.ssh("backend", f"sed -i 's/proxy_read_timeout .*;/proxy_read_timeout 60s;/' {WEBSOCKET_SNIPPET}")
    staging_hosts.reload_nginx("backend")  # link 1
    revoke(staging_hosts, "viewster-staging-backend-sg", 443, cidr="0.0.0.0/0")  # link 4, later
    chain = diagnosed(staging_hosts, "websocket")
    assert chain["first_broken"] == "1"
    assert states(chain) == {"symptom": "ok", "1": "broken", "2": "ok", "3": "ok", "4": "broken"}


def test_db_first_broken_link_is_the_security_group(staging_hosts):
    revoke(staging_hosts, "viewster-staging-rds-sg", 5432, group="viewster-staging-backend-sg")  # link 2
    staging_hosts.client("ssm").delete_parameter(Name="/viewster/staging/database_url")  # link 4, later
    chain = diagnosed(staging_hosts, "db")
    assert chain["first_broken"] == "2"
    assert states(chain) == {"symptom": "ok", "1": "ok", "2": "broken", "3": "ok", "4": "broken"}


def test_redis_first_broken_link_is_the_stopped_container(staging_hosts):
    staging_hosts.restore("thirdparty", "redis")
    staging_hosts.ssh("thirdparty", "docker stop redis")  # link 2, and so link 4 (no memory figures) too
    chain = diagnosed(staging_hosts, "redis")
    assert chain["first_broken"] == "2"
    assert states(chain) == {"symptom": "broken", "1": "ok", "2": "broken", "3": "ok", "4": "broken"}


def test_cpu_first_broken_link_is_the_firing_alarm(staging_hosts):
    staging_hosts.client("cloudwatch").set_alarm_state(  # link 1
        AlarmName="viewster-staging-backend-ec2-cpu-high", StateValue="ALARM", StateReason="Threshold Crossed"
    )
    report(staging_hosts, "AWS/RDS", "DBInstanceIdentifier", "viewster-staging-database", "CPUUtilization", 95)
    chain = diagnosed(staging_hosts, "cpu")  # link 4 (the database's CPU), later
    assert chain["first_broken"] == "1"
    assert states(chain) == {"symptom": "ok", "1": "broken", "2": "ok", "3": "ok", "4": "broken"}


def test_a_run_says_which_checklists_its_failures_belong_to(staging_hosts, tmp_path):
    staging_hosts.restore("thirdparty", "redis")
    staging_hosts.ssh("thirdparty", "docker stop redis")
    done = staging_hosts.cli(reports_dir=tmp_path)
    assert done.returncode == 1
    assert (
        "Looks like: Redis 연결 실패 - first broken link: 2. Redis 컨테이너 상태 확인 (docker ps on thirdparty) "
        "(--diagnose=redis for the chain)" in done.stdout
    )
    (written,) = tmp_path.glob("*.json")
    chains = json.loads(written.read_text())["diagnosis"]["chains"]
    assert {c["key"]: c["first_broken"] for c in chains}["redis"] == "2"


def test_diagnose_prints_the_chain_with_the_first_broken_link_and_its_evidence(staging_hosts, tmp_path):
    staging_hosts.restore("backend")
    staging_hosts.ssh("backend", "docker stop backend-blue")
    done = staging_hosts.cli("--diagnose=api", reports_dir=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    start = lines.index("Diagnosis: API 응답 없음 (api)")
    assert lines[start + 1].startswith("   symptom GET /health (헬스 체크) ... BROKEN")
    assert lines[start + 4] == "-> 2. Docker 컨테이너 상태 확인 (docker ps) ... BROKEN"
    assert lines[start + 5] == "       backend container backend-blue: state expected 'running', found 'exited'"
    assert "       [docker logs --tail 20 backend-blue]" in lines
    assert "First broken link: 2. Docker 컨테이너 상태 확인 (docker ps)" in lines
    ssh = next(line for line in lines if line.startswith("SSH per host:"))
    assert "backend" in ssh and "frontend" not in ssh and "thirdparty" not in ssh  # reads only what the chain needs


@pytest.mark.parametrize("asked", ["nosuch"])
def test_an_unknown_checklist_is_one_line_and_exit_4(staging, tmp_path, asked):
    done = staging.cli(f"--diagnose={asked}", reports_dir=tmp_path)
    assert done.returncode == 4
    assert done.stderr.strip().splitlines() == [
        f"ERROR: --diagnose={asked}: no such checklist; choose one of api, websocket, db, redis, cpu"
    ]


def test_a_broken_checklist_file_is_one_line_and_exit_4(staging, spec_copy, tmp_path):
    chains = (spec_copy / "diagnosis.yaml").read_text()
    (spec_copy / "diagnosis.yaml").write_text(
        chains.replace('    symptom: {title: "GET /health', '    sympton: {title: "GET /health', 1)
    )
    done = staging.cli(f"--spec-dir={spec_copy}", reports_dir=tmp_path)
    assert done.returncode == 4
    assert done.stderr.strip().splitlines() == [
        f"ERROR: {spec_copy / 'diagnosis.yaml'}: chains.api.symptom: field required"
    ]


def test_the_guides_env_placeholder_reads_as_the_environment():
    chains = diagnosis.load(SPEC_DIR)
    placeholders = [(k, link.title) for k, c in chains.chains.items() for _, link in c.steps() if "{env}" in link.title]
    assert placeholders, "the guide's titles name /viewster/{env}/... somewhere"
    for key, _ in placeholders:
        verdict = diagnosis.judge(key, chains.chains[key], [], "production")
        titles = [verdict.chain.title] + [step.title for step in verdict.steps]
        assert not any("{env}" in title for title in titles) and any("/viewster/production/" in t for t in titles)
        assert any("/viewster/production/" in line for line in diagnosis.chain_lines(verdict))
