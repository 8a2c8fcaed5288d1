"""Docker's json-file log driver in miniature: every line a stand-in container writes is stored with the time it was
written, so that `docker logs --since` and `--timestamps` answer as Docker's do.

    program | python -m viewster_infra.sandbox.hosts.log_relay LOGFILE
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime


def main(path: str) -> None:
    with open(path, "ab", buffering=0) as log:
        for line in sys.stdin.buffer:
            log.write(datetime.now(UTC).isoformat().encode() + b" " + line)


if __name__ == "__main__":
    main(sys.argv[1])
