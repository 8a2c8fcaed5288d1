"""Every host: disk not filling up, the container runtime answering, and the backend reaching what it depends on
(문제 진단 체크리스트: Redis and RabbitMQ on thirdparty, PostgreSQL on RDS)."""

from viewster_infra.findings import drift, expect


def test_host_root_filesystem_usage(server, spec, hosts):
    used = hosts.facts(server.key)["root_fs_used_percent"]
    limit = spec.hosts.root_filesystem_max_used_percent
    if used is None or used >= limit:
        drift(
            server.label,
            prop="root filesystem used",
            expected=f"under {limit:g}%",
            found=f"{used if used is None else f'{used:g}%'}",
        )


def test_host_container_runtime_answers(server, hosts):
    expect(
        server.label,
        "container runtime answers (docker ps)",
        True,
        hosts.facts(server.key)["container_runtime_answers"],
    )


def test_host_reaches(reach, hosts):
    reach_facts = hosts.facts(reach.want.role)["reach"]
    target = reach.want.spec
    what = f"TCP connect to {target.role or 'rds ' + target.database}:{target.port}"
    if reach_facts.get(reach.key) is None:
        source = "rds" if target.database else "ec2"
        drift(reach.label, f"{what} not tried: the target's address is unknown ({source} facts do not give it)")
    expect(reach.label, what, True, reach_facts[reach.key])
