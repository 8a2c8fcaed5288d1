"""The sandbox hosts' `docker` client is built from C with the paths it needs: any path a checkout may have, quotes
and backslashes included, and only once per sandbox."""

from __future__ import annotations

import os
import subprocess

from viewster_infra.sandbox.hosts import docker_client


def test_built_with_any_path_and_falls_back_to_the_stand_in_it_names(tmp_path):
    odd = tmp_path / 'a "quoted" \\ dir'
    odd.mkdir()
    python = odd / "python"  # stands for the Python that runs the stand-in: shows what it was given
    python.write_text('#!/bin/sh\nprintf "%s\\n" "PYTHONPATH=$PYTHONPATH" "$@"\n')
    python.chmod(0o755)
    binary = docker_client.build(odd / "bin", "/nonexistent/docker.sock", str(python), str(odd))
    # no daemon listening: the client runs the stand-in itself, with the project root it was built with
    ran = subprocess.run([binary, "ps", "a b"], capture_output=True, text=True, check=True)
    assert ran.stdout.splitlines() == [
        f"PYTHONPATH={odd}",
        "-S",
        "-c",
        "import sys; from viewster_infra.sandbox.hosts.docker_standin import main; sys.exit(main(sys.argv[1:]))",
        "ps",
        "a b",
    ]


def test_built_once(tmp_path):
    binary = docker_client.build(tmp_path, "/nonexistent/docker.sock", "/bin/echo", "/")
    built_at = binary.stat().st_mtime_ns
    os.utime(binary, ns=(built_at, built_at))
    assert docker_client.build(tmp_path, "/x", "/y", "/z").stat().st_mtime_ns == built_at
