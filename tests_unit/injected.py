"""Answers from "AWS" that the sandbox cannot give (a denied action, throttling), injected where moto injects its
own: a `before-send` handler in botocore's built-in list, which every new session, the suite's included, picks up.
The handler answers instead of the server, so the suite's real error handling reads a real AWS error response."""

from __future__ import annotations

import contextlib
import io

from botocore import handlers
from botocore.awsrequest import AWSResponse


class _Raw(io.BytesIO):
    def stream(self, **_):
        yield self.getvalue()


def error_response(request, status: int, code: str, message: str) -> AWSResponse:
    """An AWS query-protocol error document (EC2's shape where the URL is EC2's)."""
    if "ec2" in request.url or "Action=Describe" in (request.body or ""):
        body = f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors></Response>"
    else:
        body = f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error></ErrorResponse>"
    return AWSResponse(request.url, status, {"Content-Type": "text/xml"}, _Raw(body.encode()))


@contextlib.contextmanager
def answering(event: str, answer):
    """While inside, `answer(request)` may answer any request matching `event` (return None to let it through)."""

    def handler(request, **_):
        return answer(request)

    entry = (event, handler)
    handlers.BUILTIN_HANDLERS.append(entry)
    try:
        yield
    finally:
        handlers.BUILTIN_HANDLERS.remove(entry)
