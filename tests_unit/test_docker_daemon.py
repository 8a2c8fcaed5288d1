"""The docker stand-in answers the same through its daemon as run by itself: output, errors, exit status, and a
command run in a container. The daemon only makes a call cheaper (docker_daemon.py); these prove it changes nothing
a probe or an operator could see, and that `docker` still works when the daemon is gone."""

from __future__ import annotations

import json
import os
import sys

from viewster_infra.sandbox.hosts import docker_daemon

# Each stream into a file of its own, shown after: through pipes the client goes through the daemon; straight into
# regular files the daemon answers `fallback` and the client runs the stand-in itself. stderr's pipe is a named one
# whose reader this shell started, so that `wait` really waits for it (a process substitution started inside the
# pipeline is not this shell's `$!`: its last bytes could still be on their way when the file was shown).
THROUGH = (
    "f=$(mktemp -u); mkfifo $f; cat $f >$e & reader=$!; "
    "{command} 2>$f | cat >$o; status=${{PIPESTATUS[0]}}; wait $reader; rm $f"
)
STANDALONE = "{command} >$o 2>$e; status=$?"
SHOWN = (
    'o=$(mktemp); e=$(mktemp); {run}; echo "stdout:"; cat $o; echo "stderr:"; cat $e; echo "status=$status"; rm $o $e'
)


def both_ways(sandbox, role: str, command: str) -> tuple[str, str]:
    """The command's stdout, stderr and exit status, through the daemon and run by the client itself."""
    return tuple(sandbox.ssh(role, SHOWN.format(run=way.format(command=command))) for way in (THROUGH, STANDALONE))


def test_a_request_carries_every_argument_as_given():
    request = docker_daemon.HEADER.pack(42, 4) + b"".join(
        docker_daemon.LENGTH.pack(len(arg)) + arg for arg in (b"exec", b"", b"a b", "데이터".encode())
    )
    assert docker_daemon.parse(request) == (42, ["exec", "", "a b", "데이터"])


def test_a_reading_command_answered_in_the_daemon_leaves_nothing_behind_for_the_next():
    """`ps`, `inspect`, `image`, `logs` run in the daemon's own process: one whose reader went away fails with
    status 1, and what it could not write never reaches the next client; the daemon's own streams come back."""
    streams = sys.stdout, sys.stderr
    gone_reader, gone = os.pipe()
    os.close(gone_reader)  # `docker ps -q | true`, the reader gone before anything was written
    _, gone_err = os.pipe()
    assert docker_daemon.run_here(["ps", "-q"], gone, gone_err) == 1
    assert (sys.stdout, sys.stderr) == streams
    (out_reader, out), (err_reader, err) = os.pipe(), os.pipe()
    assert docker_daemon.run_here(["volume", "ls"], out, err) == 125  # the next client's own answer, and only it
    assert os.read(out_reader, 1024) == b""
    assert os.read(err_reader, 1024) == b"docker stand-in: 'volume' is not implemented here (sandbox)\n"
    assert {"ps", "inspect", "image", "logs"} == docker_daemon.ANSWERED_HERE  # reads only: nothing that waits


def test_a_command_in_a_fork_holds_up_no_other(staging_hosts):
    # `docker exec` runs in a fork and waits for its command; the daemon answers `docker ps` meanwhile. The sleep's
    # output goes to /dev/null: on the session's pipe, it would hold the SSH session open for its 5 seconds.
    still_running = staging_hosts.ssh(
        "thirdparty", "docker exec redis sleep 5 >/dev/null 2>&1 & docker ps -q >/dev/null; jobs -r | wc -l; kill %1"
    )
    assert still_running.strip() == "1"


def test_stats_waits_for_its_second_sample_without_holding_up_others(staging_hosts):
    # the daemon takes stats' first sample, answers `docker ps` while the interval runs, then the second sample;
    # a busy loop in redis (3 s, longer than the sample) shows as redis's CPU, not rabbitmq's
    shown = staging_hosts.ssh(
        "thirdparty",
        "docker exec -d redis timeout 3 sh -c 'while :; do :; done'; sleep 0.2; "
        "docker stats --no-stream --format '{{json .}}' redis rabbitmq >/tmp/stats.out & sampling=$!; "
        "docker ps -q >/dev/null; jobs -r | wc -l; wait $sampling; echo status=$?; cat /tmp/stats.out",
    )
    still_sampling, status, *rows = shown.splitlines()
    assert (still_sampling, status) == ("1", "status=0")
    cpu = {json.loads(row)["Name"]: float(json.loads(row)["CPUPerc"].rstrip("%")) for row in rows}
    assert list(cpu) == ["redis", "rabbitmq"]
    assert cpu["redis"] >= 20 and cpu["redis"] > cpu["rabbitmq"], cpu
    # as the stand-in run by itself answers: the same rows (the figures move), the same errors and statuses
    for command in ("docker stats --no-stream --format '{{.Name}}' redis nope", "docker stats"):
        through, standalone = both_ways(staging_hosts, "thirdparty", command)
        assert through == standalone, f"{command}:\n{through}\n!=\n{standalone}"


def test_the_two_ways_are_the_daemon_and_the_stand_in_itself(staging_hosts):
    # what ran `docker exec`: the parent of the command it started
    parent = "docker exec redis sh -c 'xargs -0 echo </proc/$PPID/cmdline'"
    through, standalone = both_ways(staging_hosts, "thirdparty", parent)
    assert "viewster_infra.sandbox.hosts.docker_daemon" in through
    assert "docker_standin import main" in standalone


def test_answers_through_the_daemon_are_those_of_the_stand_in_itself(staging_hosts):
    for command in (
        "docker ps --format '{{.Names}} {{.Image}} {{.Ports}}'",
        "docker inspect redis rabbitmq --format '{{.Name}} {{.State.Running}} {{.Config.Image}}'",
        "docker inspect redis nope",  # one found, one missing: the JSON, the error and status 1
        "docker logs --tail 3 redis",
        "docker image inspect redis:7-alpine",
        "docker exec redis redis-cli ping",
        "docker exec redis sh -c 'echo out; echo err >&2; exit 3'",  # the command's streams and status
        "docker exec redis printf '[%s]' '' 'a b' '데이터' \"it's\"",  # every argument as given, empty and UTF-8 too
        "docker volume ls",  # not implemented: 125 and the stand-in's one line
    ):
        through, standalone = both_ways(staging_hosts, "thirdparty", command)
        assert through == standalone, f"{command}:\n{through}\n!=\n{standalone}"
    assert "status=3" in both_ways(staging_hosts, "thirdparty", "docker exec redis sh -c 'exit 3'")[0]
    assert (
        "stdout:\n[][a b][데이터][it's]"
        in both_ways(staging_hosts, "thirdparty", "docker exec redis printf '[%s]' '' 'a b' '데이터' \"it's\"")[0]
    )
    assert "status=125" in both_ways(staging_hosts, "thirdparty", "docker volume ls")[0]


def test_a_reader_that_stops_early_gets_the_first_line_and_the_pipe_ends(staging_hosts):
    assert staging_hosts.ssh("thirdparty", "docker exec redis redis-cli info | head -n 1").strip() == "# Server"


def test_without_the_daemon_docker_still_answers_by_itself(staging_hosts):
    staging_hosts.restore("frontend")
    staging_hosts.ssh("frontend", "pkill -f 'hosts[.]docker_daemon'")  # the pattern does not match this command
    listed = staging_hosts.ssh("frontend", "docker ps --format '{{.Names}}' | sort")
    assert listed.split() == ["admin-frontend-blue", "frontend-blue"]
