"""The sandbox's stand-in for backend-blue (FastAPI + Uvicorn in real life): GET /health, a WebSocket at /ws, and
a worker consuming its RabbitMQ queues.

/health answers 200 while the database in DATABASE_URL accepts TCP connections and 500 when it does not, as a
backend whose database is gone would. Every request is logged to stdout, which `docker logs` shows.

The worker declares each queue in RABBITMQ_QUEUES (comma-separated) on the broker at RABBITMQ_URL and consumes it,
acknowledging each message once handled. A message {"work_seconds": N} takes N seconds to handle (a slow job: the
messages delivered behind it wait unacknowledged). It reconnects while the broker is away, as a real worker does.

    python -m viewster_infra.sandbox.hosts.backend_app BIND_ADDRESS PORT
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from http import HTTPStatus
from urllib.parse import urlsplit

import pika
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


PREFETCH = 500  # messages delivered ahead of their handling


def handle(channel, method, properties, body: bytes) -> None:
    try:
        seconds = float(json.loads(body).get("work_seconds", 0))
    except (ValueError, AttributeError):
        seconds = 0
    if seconds:
        channel.connection.sleep(seconds)  # keeps the connection's heartbeats going meanwhile
    channel.basic_ack(method.delivery_tag)


def consume_forever(url: str, queues: list[str]) -> None:
    while True:
        try:
            connection = pika.BlockingConnection(pika.URLParameters(url))
            channel = connection.channel()
            channel.basic_qos(prefetch_count=PREFETCH)
            for queue in queues:
                channel.queue_declare(queue, durable=True)
                channel.basic_consume(queue, handle)
            print(f"worker: consuming {', '.join(queues)}", flush=True)
            channel.start_consuming()
        except Exception:  # noqa: BLE001 - the broker away or restarted: wait and reconnect
            # (a neutral line: the log's error lines are a check of their own, about the backend's requests)
            print("worker: broker connection lost, reconnecting", flush=True)
            time.sleep(0.2)  # soon: a broker restarted by a test is back within seconds


async def main(host: str, port: int) -> None:
    async with serve(echo, host, port, process_request=route, server_header="uvicorn") as server:
        print(f"listening on {host}:{port}", flush=True)
        await server.serve_forever()


def stop(signum: int, _frame) -> None:
    """`docker stop` (SIGTERM, or the image's SIGINT): a clean exit, as Uvicorn's, not a traceback in the log."""
    print(f"shutting down ({signal.Signals(signum).name})", flush=True)
    os._exit(0)


if __name__ == "__main__":
    # Docker keeps a container's stderr in its log too: pika's and websockets' own reports of a broker gone or a
    # client that hung up mid-handshake (with tracebacks) would read as the backend's errors. The app says what
    # matters in its own lines: a request it failed (ERROR), the worker reconnecting (neutral).
    for library in ("pika", "websockets"):
        logging.getLogger(library).setLevel(logging.CRITICAL + 1)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    if os.environ.get("RABBITMQ_URL") and os.environ.get("RABBITMQ_QUEUES"):
        queues = os.environ["RABBITMQ_QUEUES"].split(",")
        threading.Thread(target=consume_forever, args=(os.environ["RABBITMQ_URL"], queues), daemon=True).start()
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
