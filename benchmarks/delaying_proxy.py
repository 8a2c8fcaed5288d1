"""A TCP proxy on 127.0.0.1 that holds every chunk for a while in each direction: latency for the benchmarks, since
the kernel here has no netem. One listener per target; the proxies run in a daemon thread of the calling process."""

from __future__ import annotations

import asyncio
import threading


def start(targets: dict[str, tuple[str, int]], one_way_delay: float) -> dict[str, int]:
    """Returns target name -> the local port that forwards to it with `one_way_delay` seconds each way."""
    loop = asyncio.new_event_loop()
    ports: dict[str, int] = {}

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                await asyncio.sleep(one_way_delay)
                writer.write(chunk)
                await writer.drain()
        finally:
            writer.close()

    async def serve(name: str, address: str, port: int) -> None:
        async def handle(client_reader, client_writer):
            upstream_reader, upstream_writer = await asyncio.open_connection(address, port)
            await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        ports[name] = server.sockets[0].getsockname()[1]

    for name, (address, port) in targets.items():
        loop.run_until_complete(serve(name, address, port))
    threading.Thread(target=loop.run_forever, daemon=True).start()  # ends with this process
    return ports
