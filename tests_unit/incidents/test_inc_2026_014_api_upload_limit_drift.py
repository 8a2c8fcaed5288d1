"""INC-2026-014 recreated: the API's client_max_body_size dropped from nginx (its 1m default applies), and set
in another spelling of the same size (passes: sizes are compared as bytes)."""

from tests_unit.harness import proves

SITE = "/etc/nginx/sites-enabled/api.conf"


@proves("test_api_accepts_uploads_up_to_the_app_limit")
def test_upload_limit_dropped_from_the_api_site(staging_hosts):
    staging_hosts.restore("backend")
    staging_hosts.ssh("backend", f"sed -i 's/client_max_body_size 100m;/client_max_body_size 102400k;/' {SITE}")
    staging_hosts.reload_nginx("backend")
    assert staging_hosts.run("-m", "incident").failures == {}
    staging_hosts.ssh("backend", f"sed -i '/client_max_body_size/d' {SITE}")
    staging_hosts.reload_nginx("backend")
    result = staging_hosts.run("-m", "incident")
    check = "test_api_accepts_uploads_up_to_the_app_limit[staging-backend-api]"
    assert result.failures == {
        check: "backend nginx site staging-api.viewster.io: client_max_body_size expected at least 104857600 bytes "
        "(100m), found 1048576 bytes"
    }
    assert result.properties[check]["incident"] == "INC-2026-014"
