"""헬스 체크 패턴, from outside as a client: /health answers, http redirects to https, every name's certificate is
valid for it and not about to expire, and a WebSocket upgrade reaches the backend through nginx."""

from urllib.parse import urlsplit

import pytest

from viewster_infra.findings import drift, expect, note, require

REDIRECTS = {301, 302, 307, 308}


def test_endpoint_health(health_check, endpoints):
    found = endpoints.facts()["health"]
    if found["error"]:
        drift(f"GET {found['url']}", f"no answer: {found['error']}")
    expect(f"GET {found['url']}", "status", health_check.want.status, found["status"])


def test_endpoint_http_redirects_to_https(redirected_name, endpoints):
    found = endpoints.facts()["redirects"][redirected_name.key]
    resource = f"GET http://{redirected_name.label.split()[-1]}/"
    if found["error"]:
        drift(resource, f"no answer: {found['error']}")
    if found["status"] not in REDIRECTS:
        drift(
            resource,
            prop="status",
            expected=f"a redirect ({', '.join(map(str, sorted(REDIRECTS)))})",
            found=str(found["status"]),
        )
    target = urlsplit(found["location"] or "")
    expected = f"https://{redirected_name.want.name}"
    expect(resource, "redirect target", expected, f"{target.scheme}://{target.netloc}")


def test_endpoint_certificate_valid(served_name, endpoints):
    found = endpoints.facts()["certificates"][served_name.key]
    if not found["valid"]:
        drift(served_name.label, f"TLS certificate not valid: {found['error']}")


def test_endpoint_certificate_not_expiring(served_name, spec, endpoints):
    found = endpoints.facts()["certificates"][served_name.key]
    minimum = spec.endpoints.certificate_min_days_left
    if found["days_left"] is None or found["days_left"] < minimum:
        drift(
            served_name.label,
            prop="TLS certificate days left",
            expected=f"at least {minimum}",
            found=str(found["days_left"]),
        )


def test_endpoint_websocket_upgrade(websocket_check, endpoints):
    found = endpoints.facts()["websocket"]
    if found["error"]:
        drift(f"WebSocket {found['url']}", f"handshake failed: {found['error']}")
    expect(f"WebSocket {found['url']}", "handshake status", 101, found["status"])


@pytest.mark.aws("ec2")
def test_dns_name_resolves_to_elastic_ip(record, endpoints, aws):
    """아키텍처 (Route53), from outside: what a client's resolver answers, not only what the zone holds."""
    found = endpoints.facts()["dns"][record.key]
    resource = f"dns {record.want.name}"
    if found["error"]:
        drift(resource, f"no answer from {found['asked']}: {found['error']}")
    note("answer", f"{', '.join(found['addresses'])} (asked {found['asked']})")
    role = record.want.points_to
    instance = require(
        f"ec2 instance {role}", aws.facts("ec2")["instances"][role], "the instance the name should resolve to"
    )
    elastic_ip = require(f"ec2 instance {role} Elastic IP", instance["elastic_ip"], "none attached")
    expect(resource, f"addresses (the {role} Elastic IP)", [elastic_ip], found["addresses"])
