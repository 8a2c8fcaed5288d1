"""What the environment serves, seen from outside as a client sees it: /health, the http->https redirect, each
name's TLS certificate, a WebSocket upgrade, and what DNS answers for each name. Probed once per run.

Names resolve through DNS against the real estate. In the sandbox they resolve only through the sandbox's own name
map (nothing else is reachable, and an address from AWS data is never dialled); TLS is then verified against the
sandbox's CA. urllib3 (requests' own engine) is used directly because it lets the connection go to a mapped
address while TLS verification and the Host header keep the real name.

Separately, each Route53 name is looked up as a client would (the system's resolver; in the sandbox only its own
DNS server): the answer is a fact to compare with the Elastic IPs, never an address to dial.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl

import dns.exception
import dns.resolver
import urllib3
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response
from websockets.uri import parse_uri

from viewster_infra.spec.model import EnvironmentSpec

TIMEOUT_SECONDS = 5


class Resolver:
    def __init__(self, names: dict[str, str] | None) -> None:
        self._names = names  # None: DNS

    def address(self, name: str) -> str:
        if self._names is None:
            return socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)[0][4][0]
        if name not in self._names:
            raise LookupError(f"{name} is not in the sandbox's name map")
        return self._names[name]


def probe_all(
    spec: EnvironmentSpec, names: dict[str, str] | None, ca_bundle: str | None, dns_server: str | None = None
) -> dict:
    resolver = Resolver(names)
    tls = ssl.create_default_context(cafile=ca_bundle)
    records = spec.route53.records
    health, websocket = spec.endpoints.health, spec.endpoints.websocket
    return {
        "certificates": {key: _certificate(resolver, tls, record.name) for key, record in records.items()},
        "redirects": {key: _redirect(resolver, records[key].name) for key in spec.endpoints.https_redirect},
        "health": _status(resolver, ca_bundle, records[health.record].name, health.path),
        "websocket": _websocket(resolver, tls, records[websocket.record].name, websocket.path),
        "dns": _dns({key: record.name for key, record in records.items()}, dns_server),
    }


def _dns(names: dict[str, str], server: str | None) -> dict:
    """Each name's A addresses as the resolver answers (the system's, or only `server`), or why there are none."""
    resolver = dns.resolver.Resolver(configure=server is None)
    if server is not None:
        resolver.nameservers = [server]
    resolver.lifetime = TIMEOUT_SECONDS
    asked = f"DNS server {server}" if server else f"the system's resolver ({', '.join(resolver.nameservers)})"
    found = {}
    for key, name in names.items():
        try:
            answer = resolver.resolve(name, "A")
            found[key] = {"addresses": sorted(r.address for r in answer), "error": None, "asked": asked}
        except dns.resolver.NXDOMAIN:
            found[key] = {"addresses": [], "error": "NXDOMAIN (no such name)", "asked": asked}
        except dns.exception.DNSException as exc:
            found[key] = {"addresses": [], "error": _failure(exc), "asked": asked}
    return found


def _failure(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _certificate(resolver: Resolver, tls: ssl.SSLContext, name: str) -> dict:
    """Verified chain and name, and days until expiry; or why the handshake failed."""
    try:
        with socket.create_connection((resolver.address(name), 443), timeout=TIMEOUT_SECONDS) as raw:
            with tls.wrap_socket(raw, server_hostname=name) as wrapped:
                cert = wrapped.getpeercert()
    except (OSError, LookupError) as exc:
        return {"valid": False, "error": _failure(exc), "days_left": None}
    expires = dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), dt.UTC)
    days_left = (expires - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    return {"valid": True, "error": None, "days_left": round(days_left, 1), "not_after": expires.isoformat()}


def _redirect(resolver: Resolver, name: str) -> dict:
    try:
        pool = urllib3.HTTPConnectionPool(resolver.address(name), 80, timeout=TIMEOUT_SECONDS, retries=False)
        response = pool.request("GET", "/", headers={"Host": name}, redirect=False)
    except (urllib3.exceptions.HTTPError, LookupError, OSError) as exc:
        return {"status": None, "location": None, "error": _failure(exc)}
    return {"status": response.status, "location": response.headers.get("Location"), "error": None}


def _status(resolver: Resolver, ca_bundle: str | None, name: str, path: str) -> dict:
    try:
        pool = urllib3.HTTPSConnectionPool(
            resolver.address(name),
            443,
            timeout=TIMEOUT_SECONDS,
            retries=False,
            server_hostname=name,
            assert_hostname=name,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_bundle,
        )
        response = pool.request("GET", path, headers={"Host": name}, redirect=False)
    except (urllib3.exceptions.HTTPError, LookupError, OSError) as exc:
        return {"url": f"https://{name}{path}", "status": None, "error": _failure(exc)}
    return {"url": f"https://{name}{path}", "status": response.status, "error": None}


def _websocket(resolver: Resolver, tls: ssl.SSLContext, name: str, path: str) -> dict:
    """The WebSocket opening handshake, as a browser makes it, in this one thread: websockets' Sans-I/O protocol
    over one blocking TLS socket. (Its threaded client reads and writes one TLS session from two threads, which
    OpenSSL does not allow: over TLS 1.3 the handshake hung or the process crashed, a few runs in a hundred.)"""
    url = f"wss://{name}{path}"
    protocol = ClientProtocol(parse_uri(url))
    try:
        raw = socket.create_connection((resolver.address(name), 443), timeout=TIMEOUT_SECONDS)
        with tls.wrap_socket(raw, server_hostname=name) as connection:
            protocol.send_request(protocol.connect())
            connection.sendall(b"".join(protocol.data_to_send()))
            while protocol.handshake_exc is None and not (response := _response(protocol)):
                chunk = connection.recv(65536)
                protocol.receive_eof() if not chunk else protocol.receive_data(chunk)
            if protocol.handshake_exc is not None:
                raise protocol.handshake_exc
            protocol.send_close(1000)  # a clean goodbye, so that nginx logs nothing about this client
            connection.sendall(b"".join(protocol.data_to_send()))
    except InvalidStatus as exc:
        return {"url": url, "status": exc.response.status_code, "error": None}
    except (OSError, LookupError, Exception) as exc:  # noqa: BLE001 - any failed handshake is the finding
        return {"url": url, "status": None, "error": _failure(exc)}
    return {"url": url, "status": response.status_code, "error": None}


def _response(protocol: ClientProtocol):
    """The server's handshake response, once the protocol has parsed one."""
    return next((event for event in protocol.events_received() if isinstance(event, Response)), None)
