"""nginx's effective configuration, from `nginx -T`, as data: what each site really proxies and with which settings.

`nginx -T` prints every configuration file nginx loaded, each after a "# configuration file PATH:" line. Each file
is parsed by crossplane (NGINX's own parser) on its own, and `include` directives are then followed through that
set of files, never through this machine's disk. A directive counts wherever it is written: in the site's
location, its server, the http block, or any file they include; nginx's inheritance rules decide which one wins.
"""

from __future__ import annotations

import fnmatch
import re
import tempfile
from pathlib import Path, PurePosixPath

import crossplane

from viewster_infra import nginx_time

MAIN_FILE = "/etc/nginx/nginx.conf"
_FILE_HEADER = re.compile(r"^# configuration file (.+):$", re.MULTILINE)


def split_dump(dump: str) -> dict[str, str]:
    """`nginx -T` output -> {path: text} of every file nginx loaded."""
    parts = _FILE_HEADER.split(dump)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def parse(files: dict[str, str]) -> list[dict]:
    """The main file's directives with every include replaced by the included files' directives."""
    parsed = {}
    with tempfile.TemporaryDirectory() as scratch:
        for number, (path, text) in enumerate(files.items()):
            local = Path(scratch) / f"{number}.conf"
            local.write_text(text)
            result = crossplane.parse(str(local), single=True, check_ctx=False, check_args=False, comments=False)
            parsed[path] = result["config"][0]["parsed"] if result["config"] else []
    main = MAIN_FILE if MAIN_FILE in parsed else next(iter(parsed), None)
    return _inline(parsed.get(main, []), parsed, str(PurePosixPath(main or MAIN_FILE).parent))


def _inline(block: list[dict], parsed: dict[str, list[dict]], prefix: str) -> list[dict]:
    result = []
    for directive in block:
        if directive["directive"] == "include":
            pattern = directive["args"][0]
            if not pattern.startswith("/"):
                pattern = f"{prefix}/{pattern}"
            for path in sorted(p for p in parsed if fnmatch.fnmatch(p, pattern)):
                result += _inline(parsed[path], parsed, prefix)
        else:
            copy = dict(directive)
            if "block" in copy:
                copy["block"] = _inline(copy["block"], parsed, prefix)
            result.append(copy)
    return result


def _find(block: list[dict], name: str) -> list[dict]:
    return [d for d in block if d["directive"] == name]


def site_settings(config: list[dict], server_name: str, port: int = 443) -> dict | None:
    """What nginx does for `server_name` on `port` at location "/": None when no server block serves it there."""
    for http in _find(config, "http"):
        for server in _find(http["block"], "server"):
            names = [a for d in _find(server["block"], "server_name") for a in d["args"]]
            ports = {_listen_port(d["args"]) for d in _find(server["block"], "listen")}
            if server_name not in names or port not in ports:
                continue
            location = next((d for d in _find(server["block"], "location") if d["args"] == ["/"]), None)
            levels = [location["block"] if location else [], server["block"], http["block"]]
            timeout = _nearest(levels, "proxy_read_timeout")
            version = _nearest(levels, "proxy_http_version")
            headers = next(
                (_find(level, "proxy_set_header") for level in levels if _find(level, "proxy_set_header")), []
            )
            proxy_pass = _find(levels[0], "proxy_pass")
            body = _nearest(levels, "client_max_body_size")
            return {
                "proxy_pass": proxy_pass[0]["args"][0] if proxy_pass else None,
                "proxy_http_version": version[0] if version else "1.0",
                "headers": {h["args"][0].lower(): h["args"][1] for h in headers if len(h["args"]) == 2},
                "proxy_read_timeout_seconds": nginx_time.seconds(timeout[0]) if timeout else 60.0,
                "client_max_body_size_bytes": size_bytes(body[0]) if body else DEFAULT_BODY_SIZE,
                "block": crossplane.build([server]),
            }
    return None


DEFAULT_BODY_SIZE = 1024 * 1024  # nginx's client_max_body_size when nothing sets it: 1m
SIZE = re.compile(r"^(\d+)([kKmMgG]?)$")


def size_bytes(value: str) -> float:
    """nginx's size syntax: 512, 64k, 100m, 1g (binary units); 0 means no limit."""
    match = SIZE.match(value)
    if match is None:
        raise ValueError(f"not an nginx size: {value!r}")
    number = int(match.group(1))
    if number == 0:
        return float("inf")
    return float(number * 1024 ** " kmg".index(match.group(2).lower() or " "))


def _nearest(levels: list[list[dict]], name: str) -> list[str] | None:
    """nginx inheritance: the innermost level that sets a directive wins."""
    for level in levels:
        found = _find(level, name)
        if found:
            return found[-1]["args"]
    return None


def _listen_port(args: list[str]) -> int:
    address = args[0]
    return int(address.rsplit(":", 1)[-1]) if address.rsplit(":", 1)[-1].isdigit() else 80
