"""The probe's parse against what Docker Engines answer, where their answers differ from the 20.10 the sandbox
runs, and the cgroup reads against both layouts (v1 here; v2 on Amazon Linux 2023 and current Ubuntu).

Where each recorded shape comes from:
- docker inspect of a container: the Engine API's ContainerInspect response (docs.docker.com/reference/api/engine,
  API 1.41 for Engine 20.10 up to 1.49 for 28.x). `-p 8080:8080` is stored as {"HostIp": "", "HostPort": "8080"}
  in HostConfig.PortBindings in every one of them (the PortBinding schema: HostIp "Host IP address that the
  container's port is mapped to", empty when none was given); Engine 28 types it as netip.Addr and may write
  "::" for a publish on all IPv6 interfaces.
- A container restarting: moby's container/state.go (SetRestarting) keeps Running true and sets Restarting,
  Status "restarting"; the process between starts has Pid 0.
- `docker inspect NAME` without --type: the first object of any type with that name, in the API's ImageInspect
  (no Name, no State; Docker 25+ drops Container and ContainerConfig), Volume (Name, Driver, Mountpoint) and
  Network (Name, Id, Scope, Driver) shapes.
- /proc/PID/net/tcp: the kernel's proc_net_tcp format (Documentation/networking/proc_net_tcp.rst): local
  address and port in hexadecimal, state 01 ESTABLISHED, 0A LISTEN.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests_unit.harness import SPEC_DIR
from viewster_infra.hosts import probe
from viewster_infra.spec.loader import load
from viewster_infra.spec.model import EnvironmentSpec

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def spec() -> EnvironmentSpec:
    return load(SPEC_DIR, "staging").spec


def container(name: str, pid: int, ports: dict, *, status="running", restarting=False, restarts=0) -> dict:
    """A ContainerInspect answer, the fields the probe reads among those a real one has."""
    return {
        "Id": "4f3c" + "0" * 60,
        "Created": "2026-12-06T22:41:11.2Z",
        "Path": "redis-server",
        "State": {
            "Status": status,
            "Running": status in ("running", "restarting"),
            "Paused": False,
            "Restarting": restarting,
            "OOMKilled": False,
            "Dead": False,
            "Pid": pid,
            "ExitCode": 3 if restarting else 0,
            "Error": "",
            "StartedAt": "2026-12-06T22:41:12.1Z",
            "FinishedAt": "0001-01-01T00:00:00Z",
        },
        "Image": "sha256:" + "a" * 64,
        "Name": f"/{name}",
        "RestartCount": restarts,
        "HostConfig": {"PortBindings": ports, "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0}},
        "Config": {"Image": "redis:7-alpine"},
        "NetworkSettings": {"Ports": {}},
    }


def output(sections: dict[str, str]) -> str:
    return "".join(f"\n### {TOKEN} {name}\n{text}" for name, text in sections.items())


def parse(spec, sections: dict[str, str], role: str = "thirdparty") -> dict:
    return probe.parse(output(sections), spec, role)


@pytest.mark.parametrize(
    ("binding", "meaning"),
    [
        ({"HostIp": "", "HostPort": "6379"}, "0.0.0.0:6379->6379/tcp"),  # -p 6379:6379, every engine
        ({"HostIp": "0.0.0.0", "HostPort": "6379"}, "0.0.0.0:6379->6379/tcp"),  # -p 0.0.0.0:6379:6379
        ({"HostIp": "::", "HostPort": "6379"}, "0.0.0.0:6379->6379/tcp"),  # -p [::]:6379:6379 (Engine 28)
        ({"HostIp": "127.0.0.1", "HostPort": "6379"}, "127.0.0.1:6379->6379/tcp"),  # loopback only: not the same
    ],
)
def test_published_ports_are_compared_by_meaning(spec, binding, meaning):
    inspected = [container("redis", 0, {"6379/tcp": [binding]}, status="exited"), container("rabbitmq", 0, {})]
    facts = parse(spec, {"docker_inspect": json.dumps(inspected)})
    assert facts["containers"]["redis"]["ports"] == [meaning]
    # the spec's side the same way: all interfaces however written, loopback itself
    assert {probe.published(p) for p in ("6379->6379", ":6379->6379/tcp", "[::]:6379->6379/tcp")} == {
        "0.0.0.0:6379->6379/tcp"
    }


def test_objects_that_are_not_containers_are_no_such_container(spec):
    # what `docker inspect redis rabbitmq` can answer where no container is named so: an image, a volume, a network
    image = {"Id": "sha256:" + "b" * 64, "RepoTags": ["redis:latest"], "RepoDigests": [], "Config": {}}
    volume = {"Name": "rabbitmq", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/rabbitmq/_data"}
    network = {"Name": "redis", "Id": "c" * 64, "Scope": "local", "Driver": "bridge"}
    facts = parse(spec, {"docker_ps_rc": "0\n", "docker_inspect": json.dumps([image, volume, network])})
    assert facts["containers"] == {"redis": None, "rabbitmq": None}


def test_a_restarting_container_is_not_running_and_has_no_figures(spec):
    inspected = [
        container("redis", 0, {}, status="restarting", restarting=True, restarts=7),
        container("rabbitmq", 4242, {}),
    ]
    first = "4242 1000000 5000000000 - - -\n"
    last = "4242 1500000 5100000000 109715200 4857600 9223372036854771712\n"  # v1's "no limit"
    facts = parse(
        spec,
        {"docker_inspect": json.dumps(inspected), "cpu_first": first, "cpu_last": last, "meminfo": "25000000000\n"},
    )
    redis = facts["containers"]["redis"]
    assert (redis["running"], redis["restarting"], redis["restart_count"], redis["exit_code"]) == (False, True, 7, 3)
    assert "redis" not in facts["stats"]
    assert facts["stats"]["rabbitmq"]["cpu_percent"] == pytest.approx(20.0)  # 0.1 s of CPU in 0.5 s
    assert facts["stats"]["rabbitmq"]["memory_bytes"] == 100 * 2**20  # usage less the inactive file cache
    assert facts["stats"]["rabbitmq"]["memory_limit_bytes"] == 25000000000  # no limit: the host's memory


def test_a_container_up_for_an_instant_between_crashes_is_still_restarting(spec):
    # Docker's policy started it again 10 s before the probe; a restart a day ago is just a restart
    looping = container("redis", 4242, {}, restarts=12)
    looping["State"]["StartedAt"] = "2026-12-06T22:41:02.987654321Z"  # 1796596862
    recovered = container("rabbitmq", 4343, {}, restarts=1)
    recovered["State"]["StartedAt"] = "2026-12-05T22:41:02.5Z"
    facts = parse(spec, {"docker_inspect": json.dumps([looping, recovered]), "now": "1796596872 +0900\n"})
    assert (facts["containers"]["redis"]["restarting"], facts["containers"]["redis"]["running"]) == (True, False)
    assert (facts["containers"]["rabbitmq"]["restarting"], facts["containers"]["rabbitmq"]["running"]) == (False, True)


def test_connections_are_counted_in_the_containers_own_namespace(spec):
    inspected = [container("redis", 101, {}), container("rabbitmq", 202, {})]
    tcp = (
        "pid 101\n0A 00000000:18EB\n01 020011AC:18EB\n01 020011AC:18EB\n01 020011AC:9C40\n"
        "pid 202\n0A 00000000:1628\n0A 00000000000000000000000000000000:3D90\n01 030011AC:1628\n"
    )
    facts = parse(spec, {"docker_inspect": json.dumps(inspected), "container_tcp": tcp})
    assert facts["established"] == {"redis": {"6379": 2, "40000": 1}, "rabbitmq": {"5672": 1}}
    assert facts["container_listening"] == {"redis": {"6379": 1}, "rabbitmq": {"5672": 1, "15760": 1}}


def test_nginx_times_are_the_hosts_own(spec):
    # read back from the end of error.log (tac), in Seoul's time (+0900)
    read_back = (
        "L 2026/12/07 07:44:10 [error] 31#31: *9 upstream timed out\n"
        "C 2026/12/07 07:40:00 [crit] 31#31: *2 SSL_do_handshake() failed\n"
        "L 2026/12/07 07:40:00 [crit] 31#31: *2 SSL_do_handshake() failed\n"
    )
    facts = parse(spec, {"now": "1796597093 +0900\n", "nginx_error_log": read_back}, role="backend")
    assert facts["now"] == 1796597093
    # 07:40:00 KST is 22:40:00 UTC the day before
    assert facts["nginx"]["critical_errors"] == [
        [1796596800, "2026/12/07 07:40:00 [crit] 31#31: *2 SSL_do_handshake() failed"]
    ]
    assert facts["nginx"]["error_log"].splitlines()[0].startswith("2026/12/07 07:40:00 [crit]")  # oldest first


def sample(tmp_path, layout: dict[str, str], proc: dict[str, str], which: str) -> list[str]:
    """Run the probe's cgroup reads (probe.CGROUP_SAMPLE) over a made-up /sys/fs/cgroup and /proc."""
    for path, text in {
        **{f"cg/{k}": v for k, v in layout.items()},
        **{f"proc/{k}": v for k, v in proc.items()},
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    script = f"{probe.CGROUP_SAMPLE}\ncgroot={tmp_path}/cg procroot={tmp_path}/proc pids='{' '.join(proc_pids(proc))}'\nsample {which}\n"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.split("\n")[:-1]


def proc_pids(proc: dict[str, str]) -> list[str]:
    return sorted({path.split("/")[0] for path in proc})


V2_SCOPE, V1_PATH = "system.slice/docker-4f3c.scope", "docker/4f3c"


@pytest.mark.parametrize(
    ("layout", "proc", "read"),
    [
        pytest.param(  # Amazon Linux 2023 / Ubuntu 22.04+: one hierarchy, the systemd driver's scope
            {
                f"{V2_SCOPE}/cpu.stat": "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
                f"{V2_SCOPE}/memory.current": "73400320\n",
                f"{V2_SCOPE}/memory.max": "max\n",
                f"{V2_SCOPE}/memory.stat": "anon 60000000\nfile 13400320\ninactive_file 10000000\n",
            },
            {"77/cgroup": f"0::/{V2_SCOPE}\n"},
            ("77", "2500000000", "73400320", "10000000", "max"),
            id="v2",
        ),
        pytest.param(  # this machine's layout (and Amazon Linux 2's): a hierarchy per controller, cgroupfs driver
            {
                f"cpuacct/{V1_PATH}/cpuacct.usage": "123456789\n",
                f"memory/{V1_PATH}/memory.usage_in_bytes": "52428800\n",
                f"memory/{V1_PATH}/memory.limit_in_bytes": "536870912\n",
                f"memory/{V1_PATH}/memory.stat": "cache 4194304\ntotal_inactive_file 2097152\n",
            },
            {"88/cgroup": f"4:memory:/{V1_PATH}\n2:cpu,cpuacct:/{V1_PATH}\n0::/\n"},
            ("88", "123456789", "52428800", "2097152", "536870912"),
            id="v1",
        ),
    ],
)
def test_cgroup_counters(tmp_path, layout, proc, read):
    pid, _, cpu, usage, inactive, limit = sample(tmp_path, layout, proc, "last")[0].split()
    assert (pid, cpu, usage, inactive, limit) == read


def test_cgroup_reads_skip_a_process_that_is_gone(tmp_path):
    assert sample(tmp_path, {}, {"99/status": "gone\n"}, "first") == []


def test_the_clock_works_in_an_older_bash_too():
    # Amazon Linux 2's bash 4.2 has no EPOCHREALTIME: the probe's clock falls back on date, in the same unit
    script = f"{probe.CGROUP_SAMPLE}\nnow_us; a=$us; unset EPOCHREALTIME; now_us; echo $a $us\n"
    with_bash5, with_date = subprocess.run(["bash", "-c", script], capture_output=True, text=True).stdout.split()
    assert len(with_bash5) == len(with_date) == 16 and 0 <= int(with_date) - int(with_bash5) < 1_000_000
