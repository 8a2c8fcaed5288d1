"""A stand-in for Telegram's Bot API on 127.0.0.1, for proving the watch's notifications as the workflow sends
them: `sendMessage` in the API's shape (https://core.telegram.org/bots/api#sendmessage), every message kept for the
test to read. A request with another bot token is refused as Telegram refuses it (401 Unauthorized).

    bot = TelegramStandIn(token="123:ABC").start()   # bot.url is TELEGRAM_API_URL
    ... bot.messages ...                             # [{"chat_id": ..., "text": ...}, ...]
    bot.stop()
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TelegramStandIn:
    def __init__(self, token: str, failing: bool = False) -> None:
        self.token = token
        self.failing = failing  # answer every message with Telegram's 500, as when it is down
        self.messages: list[dict] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> TelegramStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != f"/bot{stand_in.token}/sendMessage":
                    return self._answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                if stand_in.failing:
                    return self._answer(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
                if not body.get("chat_id") or not body.get("text"):
                    return self._answer(
                        400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
                    )
                stand_in.messages.append({"chat_id": body["chat_id"], "text": body["text"]})
                sent = {
                    "message_id": len(stand_in.messages),
                    "date": int(time.time()),
                    "chat": {"id": body["chat_id"], "type": "group"},
                    "text": body["text"],
                }
                return self._answer(200, {"ok": True, "result": sent})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # quiet: the test reads the messages
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
