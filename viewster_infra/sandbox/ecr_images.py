"""The sandbox's container images: real images (a layer, a config, a manifest) that a registry stores, Docker pulls
and runs, and the sandbox's ECR lists, digest for digest.

Each ECR repository holds one image per commit in COMMITS, the newest tagged `latest` as well (the guide: images
are tagged `latest` and their commit SHA). The public images the thirdparty host runs (redis, rabbitmq) are built
the same way, since no registry outside this machine can be reached. An image's layer is a small root filesystem
(directories, /etc/passwd, its own files, the commit it was built from); the programs come from the host's /usr,
which its deploy mounts read-only (sandbox/hosts/render.py): Debian's redis, RabbitMQ and Python, as the hosts'
own. Every byte is deterministic (fixed times and owners, gzip without a timestamp), so every sandbox agrees on
every digest: the digest is the sha256 of the manifest's bytes and the image id the sha256 of its config, as a
registry and Docker compute them.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass

# Two commits of the application, older first. The team tags each image with the short SHA (7 characters).
COMMITS = (
    "3f2c1e0b6d5a4c3b2a1908f7e6d5c4b3a2918070",
    "9e8d7c6b5a49382716051f4e3d2c1b0a99887766",
)
SHORT = 7

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
RABBITMQ_HOME = "/var/lib/rabbitmq"

# The public images (thirdparty host), by repository as Docker Hub names them: their tag, command and environment.
PUBLIC = {
    "redis": {"tag": "7-alpine", "cmd": ["redis-server", "--protected-mode", "no"], "env": {}},
    "rabbitmq": {
        "tag": "3-management",
        "cmd": ["/usr/lib/rabbitmq/bin/rabbitmq-server"],
        "env": {
            "HOME": RABBITMQ_HOME,
            "RABBITMQ_NODENAME": "rabbit@localhost",
            "RABBITMQ_LOGS": "-",
            "RABBITMQ_MNESIA_BASE": f"{RABBITMQ_HOME}/mnesia",
            "RABBITMQ_CONFIG_FILE": "/etc/rabbitmq/rabbitmq.conf",  # the deploy mounts the team's configuration
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{RABBITMQ_HOME}/enabled_plugins",
        },
    },
}


@dataclass(frozen=True)
class Image:
    repository: str  # ECR repository name, or a Docker Hub repository (PUBLIC)
    tag: str
    manifest: str  # the exact bytes pushed (its sha256 is the digest)
    blobs: dict[str, bytes]  # digest -> the config's and the layer's bytes, as pushed

    @property
    def digest(self) -> str:
        return _sha256(self.manifest.encode())

    @property
    def image_id(self) -> str:
        return json.loads(self.manifest)["config"]["digest"]

    @property
    def commit(self) -> str | None:
        return json.loads(self.blobs[self.image_id])["config"]["Labels"].get("org.opencontainers.image.revision")


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build(repository: str, commit: str) -> Image:
    """The image of `repository` built from `commit`: deterministic, so every sandbox agrees on its digest."""
    name = repository.rsplit("/", 1)[-1]
    files = {"etc/viewster-revision": f"{repository} {commit}\n"}
    if name.endswith("-backend"):  # the sandbox's backend (hosts/backend_app.py), listening on 8080
        cmd = ["python3", "-m", "viewster_infra.sandbox.hosts.backend_app", "0.0.0.0", "8080"]
    else:  # a frontend: its static site on $PORT (3000 unless the deploy says otherwise)
        cmd = ["sh", "-c", 'exec python3 -m http.server "${PORT:-3000}" --directory /srv/www']
        files["srv/www/index.html"] = f"<!doctype html><title>{name}</title><h1>{name}</h1>\n"
    labels = {"org.opencontainers.image.revision": commit}
    # Python as a container's PID 1 gets no default action for SIGTERM (the kernel spares a namespace's init), so
    # `docker stop` would wait its 10 s; SIGINT is Python's KeyboardInterrupt, a prompt exit
    return _image(repository, commit[:SHORT], cmd, {}, files, labels, stop_signal="SIGINT")


def public(repository: str) -> Image:
    """A public image of PUBLIC, as the thirdparty host pulls it (through the sandbox's Docker Hub mirror)."""
    image = PUBLIC[repository]
    files = {}
    if repository == "rabbitmq":
        files[RABBITMQ_HOME.lstrip("/") + "/enabled_plugins"] = "[rabbitmq_management].\n"
    # Docker Hub's official images live under library/ ("redis" is library/redis), as a mirror serves them
    return _image(f"library/{repository}", image["tag"], image["cmd"], image["env"], files, {})


def history(repository: str) -> list[Image]:
    """The repository's images, oldest first; the last one is `latest`."""
    return [build(repository, commit) for commit in COMMITS]


def _image(
    repository: str, tag: str, cmd: list[str], env: dict, files: dict[str, str], labels: dict, stop_signal: str = ""
) -> Image:
    layer = gzip.compress(_rootfs(files), mtime=0)
    settings = {"Cmd": cmd, "Env": [f"PATH={PATH}", *(f"{k}={v}" for k, v in env.items())], "Labels": labels}
    if stop_signal:
        settings["StopSignal"] = stop_signal
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": settings,
            "rootfs": {"type": "layers", "diff_ids": [_sha256(gzip.decompress(layer))]},
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": _sha256(config)},
            "layers": [{"mediaType": LAYER_TYPE, "size": len(layer), "digest": _sha256(layer)}],
        },
        indent=3,  # as `docker manifest inspect` prints it; the digest covers these exact bytes
    )
    return Image(repository, tag, manifest, {_sha256(config): config, _sha256(layer): layer})


def _rootfs(files: dict[str, str]) -> bytes:
    """A root filesystem to run the host's programs in: their /usr is mounted over the empty one."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add(name: str, kind: bytes, mode: int, data: bytes = b"", target: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.linkname, info.size = kind, mode, target, len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)

        directories = {"usr", "etc", "proc", "sys", "dev", "run", "var", "var/lib", "var/log", "root", "srv"}
        directories |= {path.rsplit("/", i)[0] for path in files for i in range(1, path.count("/") + 1)}
        for directory in sorted(directories):
            add(directory, tarfile.DIRTYPE, 0o755)
        add("tmp", tarfile.DIRTYPE, 0o1777)
        for link in ("bin", "sbin", "lib", "lib64"):
            add(link, tarfile.SYMTYPE, 0o777, target=f"usr/{link}")
        passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        files = {"etc/passwd": passwd, "etc/group": "root:x:0:\nnogroup:x:65534:\n", **files}
        # /etc/hosts before DNS, as Debian's base images have it: without this file glibc asks DNS first, and a
        # name Docker wrote into the container's /etc/hosts (--add-host) waits for the resolver to time out
        files["etc/nsswitch.conf"] = "passwd: files\ngroup: files\nhosts: files dns\n"
        for path, text in sorted(files.items()):
            add(path, tarfile.REGTYPE, 0o644, text.encode())
    return buffer.getvalue()
