"""moto's server, plus a snapshot of its whole state that can be put back in a few tens of milliseconds; and what the
sandbox adds to moto: CloudTrail's record of the writes that reach it (trail.py), Performance Insights from the
database stand-in (performance_insights.py), RDS's events, parameter status and maintenance (rds_additions.py).

The sandbox takes the snapshot right after seeding the compliant replica; the suite's own tests put it back after
each drift instead of resetting moto and seeding again (about 0.01 s instead of 0.7 s, and nothing else changes:
every id, address, image push time and datapoint is the one the hosts and the DNS server were set up with).
Nothing is added to what the suite reads: the two routes live outside every AWS API's paths.

    POST /_sandbox/snapshot   the state now becomes the one to go back to
    POST /_sandbox/restore    back to that state

    python -m viewster_infra.sandbox.moto_snapshot_server -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import pickle
import signal
import sys
import threading
import types
import weakref
from collections import defaultdict

from moto.core.base_backend import BackendDict, backend_lock
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app, signal_handler
from werkzeug.serving import run_simple

from viewster_infra.sandbox.moto_server import RESTORE_PATH, SNAPSHOT_PATH
from viewster_infra.sandbox.performance_insights import PerformanceInsights
from viewster_infra.sandbox.rds_additions import RdsRoutes
from viewster_infra.sandbox.trail import Recorder

# Kept by reference, not copied: functions (moto's backends hold lambdas, which pickle cannot name) and locks.
# Both are immutable or carry no state worth copying, as copy.deepcopy treats functions.
_BY_REFERENCE = (
    types.FunctionType,
    types.MethodType,
    types.BuiltinFunctionType,
    type(threading.Lock()),
    type(threading.RLock()),
)


def _defaultdict(cls: type, factory, state: dict, items: dict) -> defaultdict:
    """A defaultdict subclass whose __init__ takes other arguments (moto's SSM ParameterDict) rebuilt as it was."""
    rebuilt = cls.__new__(cls)
    defaultdict.__init__(rebuilt, factory)
    rebuilt.__dict__.update(state)
    rebuilt.update(items)
    return rebuilt


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, kept: list) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.kept = kept

    def persistent_id(self, obj):
        if isinstance(obj, _BY_REFERENCE):
            self.kept.append(obj)
            return len(self.kept) - 1
        return None

    def reducer_override(self, obj):
        if isinstance(obj, defaultdict) and type(obj) is not defaultdict:
            return _defaultdict, (type(obj), obj.default_factory, obj.__dict__, dict(obj))
        if isinstance(obj, weakref.WeakValueDictionary):
            return weakref.WeakValueDictionary, (dict(obj.items()),)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, kept: list) -> None:
        super().__init__(file)
        self.kept = kept

    def persistent_load(self, pid):
        return self.kept[pid]


class Snapshot:
    """Every backend moto has created (one per service in use), as one pickled graph: what one service's objects
    point to in another's stays shared after a restore."""

    def __init__(self) -> None:
        with backend_lock:
            self.backends = list(BackendDict._instances)
            self.kept: list = []
            buffer = io.BytesIO()
            _Pickler(buffer, self.kept).dump([dict(backend) for backend in self.backends])
            self.pickled = buffer.getvalue()

    def restore(self) -> None:
        with backend_lock:
            contents = _Unpickler(io.BytesIO(self.pickled), self.kept).load()
            for backend in BackendDict._instances:
                if backend not in self.backends:  # a service first used after the snapshot: as moto's reset
                    for account_backend in backend.values():
                        account_backend.reset()
                    backend.clear()
            for backend, content in zip(self.backends, contents, strict=True):
                backend.clear()
                backend.update(content)
            BackendDict._instances[:] = self.backends


class SnapshotRoutes:
    """WSGI: the two sandbox routes, everything else to moto."""

    def __init__(self, moto_app) -> None:
        self.moto_app = moto_app
        self.snapshot: Snapshot | None = None

    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        if method == "POST" and path == SNAPSHOT_PATH:
            self.snapshot = Snapshot()
            # moto's own tables (AMIs, instance types, ...) and the seeded state are long-lived: out of the garbage
            # collector's full passes, which every restore's new objects would otherwise trigger over all of them.
            gc.freeze()
            return self._answer(start_response, "200 OK", f"snapshot taken ({len(self.snapshot.pickled)} bytes)")
        if method == "POST" and path == RESTORE_PATH:
            if self.snapshot is None:
                return self._answer(start_response, "409 Conflict", "no snapshot taken")
            self.snapshot.restore()
            return self._answer(start_response, "200 OK", "restored")
        return self.moto_app(environ, start_response)

    @staticmethod
    def _answer(start_response, status: str, text: str):
        start_response(status, [("Content-Type", "text/plain")])
        return [text.encode()]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto's own main: its answers name their endpoint
    signal.signal(signal.SIGINT, signal_handler)
    signal.signal(signal.SIGTERM, signal_handler)
    moto_app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        SnapshotRoutes(RdsRoutes(PerformanceInsights(Recorder(moto_app)))),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
