"""The docker stand-in's daemon: one resident process per host with the stand-in loaded, as dockerd is Docker's.

A probe sends about seven `docker` commands per host, and a Python start costs 7 ms of CPU before the stand-in's
own work; on a machine where every replica host shares the same two cores, that was most of a probe's cost. So
`docker` on a host is a small C client (docker_client.c; it starts in 0.4 ms) that hands its arguments to this
daemon over a Unix socket. The command runs the stand-in's `main` with the client's own stdout and stderr (and
stdin), reopened through /proc (the daemon runs as root in the host's PID namespace), and the daemon answers
`exit N`. Output therefore goes straight where the client's would, in order, and the client exits with the
command's status.

The commands that only read the stand-in's state and print (`ps`, `inspect`, `image inspect`, `logs`) run in the
daemon itself, one after another, as dockerd answers them: a fork of a Python process costs about 2 ms of CPU here
(its page tables copied, then every page it touches), more than such a command's own work. Everything else (`run`,
`stop`, `exec`, `stats`, ...) starts, stops, waits or sleeps, and runs in a fork of its own. Requests are read as
they arrive, from every client at once, so that a client not yet given the CPU to write its request holds up no one.

A client whose stdout or stderr is not a pipe or a character device (a regular file: its offset could not be
shared; a socket: it cannot be reopened) is answered `fallback`, and runs the stand-in itself as before. So does a
client that finds no daemon listening.

    python -m viewster_infra.sandbox.hosts.docker_daemon LISTENING_FD
"""

from __future__ import annotations

import datetime  # noqa: F401 - what the stand-in imports only in some commands, imported once for every fork
import gc
import os
import selectors
import signal
import socket
import stat
import struct
import subprocess  # noqa: F401 - as datetime
import sys
import traceback

from viewster_infra.sandbox.hosts import docker_standin, images  # noqa: F401 - as datetime

# Answered in the daemon's own process: these only read state files and print. Never a command that starts a
# process, waits or sleeps: the daemon answers one request at a time.
ANSWERED_HERE = frozenset({"ps", "inspect", "image", "logs"})
HEADER = struct.Struct(">II")  # the client's pid, the number of arguments; then each argument as N/a* (length, bytes)
LENGTH = struct.Struct(">I")


def serve(listener: socket.socket) -> None:
    """Reads every client's request as it arrives (a client that has connected but not yet written, not yet given
    the CPU on a busy machine, holds up no one), then answers it here or in a fork."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the forks; the daemon never waits for them
    pending: dict[socket.socket, list[bytes]] = {}  # connection -> what it sent so far
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                connection, _ = listener.accept()
                connection.setblocking(False)
                selector.register(connection, selectors.EVENT_READ)
                pending[connection] = []
                continue
            connection = key.fileobj
            try:
                chunk = connection.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = None  # the client went away: it answers 125 by itself
            if chunk:
                pending[connection].append(chunk)
                continue
            selector.unregister(connection)
            request = b"".join(pending.pop(connection))
            if chunk is not None:
                connection.setblocking(True)
                _answer(connection, request, closing=(listener, selector, *pending))
            connection.close()


def _answer(connection: socket.socket, request: bytes, closing) -> None:
    """Answers one whole request: a reading command here, anything else in a fork (which first closes `closing`,
    the daemon's listener and the other clients' connections, so that it holds up none of them while it runs)."""
    try:
        pid, args = parse(request)
    except struct.error:
        return  # not a whole request: the client answers 125 by itself
    if args and args[0] in ANSWERED_HERE:
        try:
            answer = answer_here(pid, args)
        except Exception:  # noqa: BLE001 - whatever one command meets, the daemon goes on serving
            answer = "exit 125\n"
        try:
            connection.sendall(answer.encode())
        except OSError:
            pass  # the client went away meanwhile
        return
    if os.fork() == 0:
        gc.disable()  # a fork lives for one command: collecting would only copy pages the daemon shares with it
        for other in closing:
            other.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # `docker exec` waits for its command's exit status
        try:
            answer = handle(pid, args)
        except BaseException:  # noqa: BLE001 - a fork must never return into the accept loop
            answer = "exit 125\n"
        try:
            connection.sendall(answer.encode())
        finally:
            os._exit(0)


def answer_here(pid: int, args: list[str]) -> str:
    """Runs a reading command in this process, its output to the client's stdout and stderr; returns the answer."""
    descriptors = _client_descriptors(pid, ((1, os.O_WRONLY), (2, os.O_WRONLY)))
    if descriptors is None:
        return "fallback\n"
    return f"exit {run_here(args, *descriptors)}\n"


def run_here(args: list[str], stdout: int, stderr: int) -> int:
    """The stand-in's `main` with print() going to these descriptors (closed when done), and its exit status. Its
    own streams, fresh for each command: what a reader that stopped early left unwritten is dropped with them, never
    printed to the next client."""
    daemon_streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (
        open(fd, "w", encoding=stream.encoding, errors=stream.errors)
        for fd, stream in ((stdout, sys.__stdout__), (stderr, sys.__stderr__))
    )
    try:
        status = _run(args)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.close()  # flushes; the descriptor is closed even when that fails
            except OSError:
                status = 1  # the reader went away (`| head -n 1`), as a CLI would find
        sys.stdout, sys.stderr = daemon_streams
    return status


def handle(pid: int, args: list[str]) -> str:
    """In a fork: runs one `docker` command with the client's stdin, stdout and stderr; returns the answer."""
    descriptors = _client_descriptors(pid, ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)))
    if descriptors is None:
        return "fallback\n"
    for number, descriptor in enumerate(descriptors):
        os.dup2(descriptor, number)
        os.close(descriptor)
    status = _run(args)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            pass  # the reader went away (`| head -n 1`), as a CLI would find
    for number in (0, 1, 2):
        os.close(number)  # before the answer: once the client exits, everything it printed has been written
    return f"exit {status}\n"


def _run(args: list[str]) -> int:
    try:
        return docker_standin.main(args)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    except BrokenPipeError:
        return 1  # the reader went away while it printed
    except Exception:  # noqa: BLE001 - as the stand-in run by itself would: a traceback on stderr, status 1
        traceback.print_exc()
        return 1


def _client_descriptors(pid: int, wanted) -> list[int] | None:
    """The client's own streams (number, mode), opened through /proc; None when one cannot be shared that way."""
    descriptors = []
    for number, mode in wanted:
        path = f"/proc/{pid}/fd/{number}"
        try:
            if not _shareable(os.stat(path).st_mode):
                raise OSError(f"{path}: neither a pipe nor a character device")
            descriptors.append(os.open(path, mode))
        except OSError:
            for descriptor in descriptors:
                os.close(descriptor)
            return None
    return descriptors


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


if __name__ == "__main__":
    sys.stdout.flush()  # nothing buffered may be copied into a fork
    gc.freeze()  # what is loaded now is never collected: a fork does not touch (and copy) it for the collector
    serve(socket.socket(fileno=int(sys.argv[1])))
