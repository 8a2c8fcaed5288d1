"""INC-2026-014: video uploads over 1 MB failed with 413 for a day.

What happened: an nginx config rewrite on the backend host dropped `client_max_body_size` from the API's server
block, so nginx fell back to its default of 1m and answered every larger upload with 413 Request Entity Too Large
before the backend saw it. /health and the WebSocket stayed green. (A worked example of an incident test, written as
the team would after such an incident.)

The fact that would have caught it: the body size nginx accepts for the API, as nginx applies it (the innermost
block that sets it; its default when none does; sizes compared as bytes, so 100m and 102400k are equal).
"""

import pytest

from viewster_infra.findings import drift, note

UPLOAD_LIMIT_BYTES = 100 * 1024 * 1024  # the app's own upload limit: nginx must let at least this much through


@pytest.mark.incident(
    id="INC-2026-014",
    date="2026-11-02",
    summary="nginx on the API fell back to a 1 MB body limit: uploads failed with 413 for a day",
    link="https://example.invalid/postmortems/INC-2026-014",
)
def test_api_accepts_uploads_up_to_the_app_limit(websocket_site, hosts):
    settings = hosts.facts(websocket_site.want.role)["nginx"]["sites"][websocket_site.key]
    found = settings["client_max_body_size_bytes"]
    shown = "0 (no limit)" if found == float("inf") else f"{int(found)} bytes"
    note("client_max_body_size", shown)
    if found < UPLOAD_LIMIT_BYTES:
        drift(
            websocket_site.label,
            prop="client_max_body_size",
            expected=f"at least {UPLOAD_LIMIT_BYTES} bytes (100m)",
            found=str(shown),
        )
