"""헬스 체크 패턴 and 문제 진단 체크리스트 (WebSocket 연결 실패): nginx runs as a host service with a valid
configuration, listens on 80 and 443, and each site proxies where the guide says with the settings it names.
Settings are read from nginx's effective configuration (`nginx -T`, includes followed) and compared by meaning."""

from viewster_infra.findings import expect, expect_includes, require


def _nginx(role: str, hosts) -> dict:
    return hosts.facts(role)["nginx"]


def _site(site, hosts) -> dict:
    return require(site.label, _nginx(site.want.role, hosts)["sites"][site.key], "no server block for it on 443")


def test_nginx_running(nginx, hosts):
    facts = _nginx(nginx.key, hosts)
    expect(
        nginx.label,
        "running (service nginx status)",
        True,
        facts["service_running"],
        evidence=("nginx error log", facts["error_log"]),
    )


def test_nginx_config_valid(nginx, hosts):
    facts = _nginx(nginx.key, hosts)
    expect(
        nginx.label,
        "configuration valid (nginx -t)",
        True,
        facts["config_valid"],
        evidence=("nginx -t", facts["test_output"]),
    )


def test_nginx_listens(nginx, hosts):
    listening = {port for address, port in hosts.facts(nginx.key)["listening"] if address in ("0.0.0.0", "*", "::")}
    for port in nginx.want.spec.listen_ports:
        expect_includes(nginx.label, "ports listened on all addresses", port, listening)


def test_nginx_site_proxy_pass(site, hosts):
    found = _site(site, hosts)
    expect(
        site.label,
        "proxy_pass",
        site.want.spec.proxy_pass,
        found["proxy_pass"],
        evidence=("server block", found["block"]),
    )


def test_nginx_site_websocket_upgrade(websocket_site, hosts):
    found = _site(websocket_site, hosts)
    settings = {
        "proxy_http_version": found["proxy_http_version"],
        "Upgrade": found["headers"].get("upgrade"),
        "Connection": (found["headers"].get("connection") or "").lower() or None,
    }
    expected = {"proxy_http_version": "1.1", "Upgrade": "$http_upgrade", "Connection": "upgrade"}
    expect(websocket_site.label, "WebSocket settings", expected, settings, evidence=("server block", found["block"]))


def test_nginx_site_proxy_read_timeout(timeout_site, hosts):
    found = _site(timeout_site, hosts)
    expect(
        timeout_site.label,
        "proxy_read_timeout (s)",
        timeout_site.want.spec.proxy_read_timeout,
        found["proxy_read_timeout_seconds"],
        evidence=("server block", found["block"]),
    )
