"""The docker stand-in's daemon: one resident process per host with the stand-in loaded, as dockerd is Docker's.

A probe sends about seven `docker` commands per host, and a Python start costs 7 ms of CPU before the stand-in's
own work; on a machine where every replica host shares the same two cores, that was most of a probe's cost. So
`docker` on a host is a small Perl client (init.py writes it; Perl starts in 2 ms) that hands its arguments to this
daemon over a Unix socket. The daemon forks, and the fork runs the stand-in's `main` with the client's own stdin,
stdout and stderr, reopened through /proc (the daemon runs as root in the host's PID namespace), then answers
`exit N`. Output therefore goes straight where the client's would, in order, and the client exits with the
command's status.

A client whose stdout or stderr is not a pipe or a character device (a regular file: its offset could not be
shared; a socket: it cannot be reopened) is answered `fallback`, and runs the stand-in itself as before. So does a
client that finds no daemon listening.

    python -m viewster_infra.sandbox.hosts.docker_daemon LISTENING_FD
"""

from __future__ import annotations

import datetime  # noqa: F401 - what the stand-in imports only in some commands, imported once for every fork
import gc
import os
import signal
import socket
import stat
import struct
import subprocess  # noqa: F401 - as datetime
import sys
import traceback

from viewster_infra.sandbox.hosts import docker_standin, images  # noqa: F401 - as datetime

HEADER = struct.Struct(">II")  # the client's pid, the number of arguments; then each argument as N/a* (length, bytes)
LENGTH = struct.Struct(">I")


def serve(listener: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the forks; the daemon never waits for them
    while True:
        connection, _ = listener.accept()
        if os.fork() == 0:
            gc.disable()  # a fork lives for one command: collecting would only copy pages the daemon shares with it
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # `docker exec` waits for its command's exit status
            try:
                answer = handle(connection)
            except BaseException:  # noqa: BLE001 - a fork must never return into the accept loop
                answer = "exit 125\n"
            try:
                connection.sendall(answer.encode())
            finally:
                os._exit(0)
        connection.close()


def handle(connection: socket.socket) -> str:
    """Runs one `docker` command for the client on the other end; returns the answer to send it."""
    pid, args = parse(_receive(connection))
    descriptors = []
    for number, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        path = f"/proc/{pid}/fd/{number}"
        try:
            if not _shareable(os.stat(path).st_mode):
                return "fallback\n"
            descriptors.append(os.open(path, mode))
        except OSError:
            return "fallback\n"
    for number, descriptor in enumerate(descriptors):
        os.dup2(descriptor, number)
        os.close(descriptor)
    try:
        status = docker_standin.main(args)
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    except Exception:  # noqa: BLE001 - as the stand-in run by itself would: a traceback on stderr, status 1
        traceback.print_exc()
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            pass  # the reader went away (`| head -n 1`), as a CLI would find
    for number in (0, 1, 2):
        os.close(number)  # before the answer: once the client exits, everything it printed has been written
    return f"exit {status}\n"


def parse(request: bytes) -> tuple[int, list[str]]:
    pid, count = HEADER.unpack_from(request)
    offset, args = HEADER.size, []
    for _ in range(count):
        (length,) = LENGTH.unpack_from(request, offset)
        offset += LENGTH.size
        args.append(request[offset : offset + length].decode(errors="surrogateescape"))
        offset += length
    return pid, args


def _shareable(mode: int) -> bool:
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def _receive(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


if __name__ == "__main__":
    sys.stdout.flush()  # nothing buffered may be copied into a fork
    gc.freeze()  # what is loaded now is never collected: a fork does not touch (and copy) it for the collector
    serve(socket.socket(fileno=int(sys.argv[1])))
