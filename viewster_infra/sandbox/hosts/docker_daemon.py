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
(its page tables copied, then every page it touches), more than such a command's own work. So does `stats`: its
first sample at once, its second when the interval is up, the daemon serving others meanwhile. Everything else
(`run`, `stop`, `exec`, ...) starts, stops or waits for a process, and runs in a fork of its own. Requests are read as
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
import time
import traceback
from dataclasses import dataclass

from viewster_infra.sandbox.hosts import docker_standin, images  # noqa: F401 - as datetime

# Answered in the daemon's own process: these only read state files and print. Never a command that starts a
# process or waits: the daemon answers one request at a time. `stats` waits between its two samples without a
# process of its own: its first sample is taken at once, its second when the interval is up (`Waiting`).
ANSWERED_HERE = frozenset({"ps", "inspect", "image", "logs"})
SAMPLED_HERE = "stats"
HEADER = struct.Struct(">II")  # the client's pid, the number of arguments; then each argument as N/a* (length, bytes)
LENGTH = struct.Struct(">I")


class Printing:
    """The client's stdout and stderr as print()'s targets while a command runs here: streams of its own, fresh for
    each command, so that what a reader that stopped early left unwritten is dropped with them, never printed to
    the next client."""

    def __init__(self, stdout: int, stderr: int) -> None:
        self.streams = [
            open(fd, "w", encoding=stream.encoding, errors=stream.errors)
            for fd, stream in ((stdout, sys.__stdout__), (stderr, sys.__stderr__))
        ]

    def run(self, command) -> int:
        """command() with print() going to the client; its exit status."""
        daemon_streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self.streams
        try:
            return _run(command)
        finally:
            sys.stdout, sys.stderr = daemon_streams

    def close(self, status: int) -> int:
        """Flushes and closes both streams; the status, or 1 when the reader went away (`| head -n 1`)."""
        for stream in self.streams:
            try:
                stream.close()  # the descriptor is closed even when flushing fails
            except OSError:
                status = 1
        return status

    def descriptors(self) -> list[int]:
        return [stream.fileno() for stream in self.streams]


@dataclass
class Waiting:
    """A `stats` between its two samples: its client's connection and streams, and the first sample."""

    due: float  # time.monotonic() of the second sample
    connection: socket.socket
    printing: Printing
    sampling: tuple


def serve(listener: socket.socket) -> None:
    """Reads every client's request as it arrives (a client that has connected but not yet written, not yet given
    the CPU on a busy machine, holds up no one), then answers it here or in a fork."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the forks; the daemon never waits for them
    pending: dict[socket.socket, list[bytes]] = {}  # connection -> what it sent so far
    waiting: list[Waiting] = []
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    while True:
        due = min((w.due for w in waiting), default=None)
        ready = selector.select(None if due is None else max(0.0, due - time.monotonic()))
        for sampled in [w for w in waiting if w.due <= time.monotonic()]:
            waiting.remove(sampled)
            finished = sampled.printing.run(lambda sampled=sampled: docker_standin.stats_finish(sampled.sampling))
            _send(sampled.connection, f"exit {sampled.printing.close(finished)}\n")
        for key, _ in ready:
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
            if chunk is None:
                connection.close()
                continue
            connection.setblocking(True)
            # what a fork must close first, so that it holds up no other client while it runs: the listener and
            # every other client's connection and streams
            closing = [listener, selector, *pending, *(w.connection for w in waiting)]
            sampling = _answer(connection, request, closing, [fd for w in waiting for fd in w.printing.descriptors()])
            if sampling is None:
                connection.close()
            else:
                waiting.append(Waiting(time.monotonic() + docker_standin.STATS_INTERVAL_SECONDS, connection, *sampling))


def _answer(connection: socket.socket, request: bytes, closing: list, closing_fds: list[int]):
    """Answers one whole request: a reading command here, anything else in a fork. For a `stats` whose first sample
    was taken, returns (its Printing, the sample) instead: the answer comes with the second."""
    try:
        pid, args = parse(request)
    except struct.error:
        return None  # not a whole request: the client answers 125 by itself
    if args and (args[0] in ANSWERED_HERE or args[0] == SAMPLED_HERE):
        try:
            return _answer_here(connection, pid, args)
        except Exception:  # noqa: BLE001 - whatever one command meets, the daemon goes on serving
            _send(connection, "exit 125\n")
            return None
    if os.fork() == 0:
        gc.disable()  # a fork lives for one command: collecting would only copy pages the daemon shares with it
        for other in closing:
            other.close()
        for fd in closing_fds:
            os.close(fd)  # not the streams' close(): nothing of theirs may be flushed from here
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # `docker exec` waits for its command's exit status
        try:
            answer = handle(pid, args)
        except BaseException:  # noqa: BLE001 - a fork must never return into the accept loop
            answer = "exit 125\n"
        try:
            connection.sendall(answer.encode())
        finally:
            os._exit(0)
    return None


def _answer_here(connection: socket.socket, pid: int, args: list[str]):
    descriptors = _client_descriptors(pid, ((1, os.O_WRONLY), (2, os.O_WRONLY)))
    if descriptors is None:
        _send(connection, "fallback\n")
        return None
    if args[0] != SAMPLED_HERE:
        _send(connection, f"exit {run_here(args, *descriptors)}\n")
        return None
    printing = Printing(*descriptors)
    started = printing.run(lambda: docker_standin.stats_start(args[1:]))
    if isinstance(started, tuple):
        return printing, started  # answered with the second sample
    _send(connection, f"exit {printing.close(started)}\n")
    return None


def _send(connection: socket.socket, answer: str) -> None:
    try:
        connection.sendall(answer.encode())
    except OSError:
        pass  # the client went away meanwhile
    connection.close()


def run_here(args: list[str], stdout: int, stderr: int) -> int:
    """The stand-in's `main` with print() going to these descriptors (closed when done), and its exit status."""
    printing = Printing(stdout, stderr)
    return printing.close(printing.run(lambda: docker_standin.main(args)))


def handle(pid: int, args: list[str]) -> str:
    """In a fork: runs one `docker` command with the client's stdin, stdout and stderr; returns the answer."""
    descriptors = _client_descriptors(pid, ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)))
    if descriptors is None:
        return "fallback\n"
    for number, descriptor in enumerate(descriptors):
        os.dup2(descriptor, number)
        os.close(descriptor)
    status = _run(lambda: docker_standin.main(args))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            pass  # the reader went away (`| head -n 1`), as a CLI would find
    for number in (0, 1, 2):
        os.close(number)  # before the answer: once the client exits, everything it printed has been written
    return f"exit {status}\n"


def _run(command) -> int:
    """command()'s exit status, as the stand-in run by itself would end."""
    try:
        return command()
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
