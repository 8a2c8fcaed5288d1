"""The sandbox's stand-in for backend-blue (FastAPI + Uvicorn in real life): GET /health and a WebSocket at /ws.

/health answers 200 while the database in DATABASE_URL accepts TCP connections and 500 when it does not, as a
backend whose database is gone would. Every request is logged to stdout, which `docker logs` shows.

    python -m viewster_infra.sandbox.hosts.backend_app BIND_ADDRESS PORT
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from http import HTTPStatus
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response


def database_reachable() -> bool:
    url = urlsplit(os.environ.get("DATABASE_URL", ""))
    if not url.hostname:
        return False
    try:
        with socket.create_connection((url.hostname, url.port or 5432), timeout=1):
            return True
    except OSError:
        return False


def json_response(status: HTTPStatus, body: dict) -> Response:
    payload = json.dumps(body).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return Response(status.value, status.phrase, headers, payload)


def route(connection: ServerConnection, request: Request) -> Response | None:
    print(f"{request.path} {request.headers.get('Upgrade', '-')}", flush=True)
    if request.path == "/health":
        if database_reachable():
            return json_response(HTTPStatus.OK, {"status": "ok"})
        print("ERROR health: database unreachable", flush=True)
        return json_response(HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error", "database": "unreachable"})
    if request.path == "/ws":
        return None  # go on with the WebSocket handshake
    return json_response(HTTPStatus.NOT_FOUND, {"detail": "Not Found"})


async def echo(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(message)


async def main(host: str, port: int) -> None:
    async with serve(echo, host, port, process_request=route, server_header="uvicorn") as server:
        print(f"listening on {host}:{port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
