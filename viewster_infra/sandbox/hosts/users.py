"""The hosts' SSH user, as an EC2 image has it: an ordinary account in the docker group (so `docker` needs no
sudo), written into the host's own /etc/passwd, /etc/group and /etc/shadow (copies of this machine's with the user
added; init.py binds them over the host's /etc)."""

from __future__ import annotations

import grp
import shutil
from pathlib import Path

FIRST_UID = 1000
DOCKER_GROUP = "docker"


def ssh_user(etc: Path, name: str) -> dict:
    """Write passwd, group and shadow for a host with `name` added; returns its name, uid and gid."""
    passwd = Path("/etc/passwd").read_text().splitlines()
    groups = Path("/etc/group").read_text().splitlines()
    uid = _free(FIRST_UID, {int(line.split(":")[2]) for line in passwd if line.count(":") >= 3})
    gid = _free(uid, {int(line.split(":")[2]) for line in groups if line.count(":") >= 3})
    passwd = [line for line in passwd if not line.startswith(f"{name}:")]
    passwd.append(f"{name}:x:{uid}:{gid}:{name}:/home/{name}:/bin/bash")
    groups = [_with_member(line, name) if line.startswith(f"{DOCKER_GROUP}:") else line for line in groups]
    if not any(line.startswith(f"{DOCKER_GROUP}:") for line in groups):
        used = {int(line.split(":")[2]) for line in groups if line.count(":") >= 3}
        groups.append(f"{DOCKER_GROUP}:x:{_free(900, used)}:{name}")
    groups.append(f"{name}:x:{gid}:")
    (etc / "passwd").write_text("\n".join(passwd) + "\n")
    (etc / "group").write_text("\n".join(groups) + "\n")
    shadow = etc / "shadow"
    shadow.write_text(Path("/etc/shadow").read_text() + f"{name}:*:20000:0:99999:7:::\n")  # no password: keys only
    shadow.chmod(0o640)
    shutil.chown(shadow, "root", _group_or_root("shadow"))
    return {"name": name, "uid": uid, "gid": gid}


def _free(start: int, used: set[int]) -> int:
    number = start
    while number in used:
        number += 1
    return number


def _with_member(line: str, name: str) -> str:
    members = [m for m in line.split(":")[3].split(",") if m]
    return ":".join([*line.split(":")[:3], ",".join([*members, name])])


def _group_or_root(name: str) -> str:
    try:
        grp.getgrnam(name)
        return name
    except KeyError:
        return "root"
