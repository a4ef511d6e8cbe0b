"""Stand-ins for the Slack Web API and the Telegram Bot API, on loopback, that record what the
assistant posts to them. The real platforms cannot be reached from tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus

TELEGRAM_BOT_NAME = "ms_trials_bot"
TELEGRAM_CHAT_ID = 42


def _reply_for(path: str) -> dict:
    if path.endswith("/chat.postMessage"):
        return {"ok": True, "channel": "D1", "ts": "1.0"}
    if path.endswith("/getMe"):
        me = {"id": 1, "is_bot": True, "first_name": "MS trials", "username": TELEGRAM_BOT_NAME}
        return {"ok": True, "result": me}
    if path.endswith("/sendMessage"):
        chat = {"id": TELEGRAM_CHAT_ID, "type": "private"}
        return {"ok": True, "result": {"message_id": 1, "date": 0, "chat": chat, "text": "sent"}}
    return {"ok": True, "result": True}


def _fields(body: str) -> dict[str, str]:
    """A call's parameters, sent as JSON (Slack's client) or as a form (aiogram)."""
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            return {name: str(value) for name, value in parsed.items()}
    except ValueError:
        pass
    return {name: values[-1] for name, values in parse_qs(body).items()}


class FakeChatApis:
    """Both APIs on one loopback port: Slack under /slack/api/, Telegram under /telegram/."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []  # (path, body as sent)
        calls, lock = self.calls, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                with lock:
                    calls.append((self.path, body))
                payload = json.dumps(_reply_for(self.path.split("?")[0])).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.slack_api = f"http://127.0.0.1:{self.port}/slack/api/"
        self.telegram_api = f"http://127.0.0.1:{self.port}/telegram"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _bodies(self, method: str) -> list[str]:
        return [body for path, body in list(self.calls) if path.split("?")[0].endswith(f"/{method}")]

    def posted(self, method: str) -> list[str]:
        """The bodies of every call to one API method, e.g. "chat.postMessage", "sendMessage"."""
        return [unquote_plus(body) for body in self._bodies(method)]

    def parameters(self, method: str) -> list[dict[str, str]]:
        """The parameters of every call to one API method, e.g. "setWebhook"."""
        return [_fields(body) for body in self._bodies(method)]

    def telegram_messages_to(self, chat_id: int) -> list[str]:
        """The texts the bot sent to one Telegram chat."""
        sent = self.parameters("sendMessage")
        return [call.get("text", "") for call in sent if call.get("chat_id") == str(chat_id)]

    def slack_messages_to(self, channel: str) -> list[str]:
        """The texts the bot posted in one Slack channel (a direct message's channel id)."""
        posted = self.parameters("chat.postMessage")
        return [call.get("text", "") for call in posted if call.get("channel") == channel]

    def slack_posts_to(self, channel: str) -> list[dict]:
        """Every chat.postMessage to one Slack channel as sent, blocks and all (Slack's client
        sends JSON)."""
        posts = []
        for body in self._bodies("chat.postMessage"):
            try:
                post = json.loads(body)
            except ValueError:
                continue
            if isinstance(post, dict) and post.get("channel") == channel:
                posts.append(post)
        return posts

    @property
    def telegram_secret_token(self) -> str | None:
        """The secret_token of the last setWebhook: what Telegram would send with every update."""
        webhooks = self.parameters("setWebhook")
        return webhooks[-1].get("secret_token") if webhooks else None

    def close(self) -> None:
        self.server.shutdown()
