"""Serve the website widget (web/) on localhost, pointed at a running Rasa server.

Usage: python scripts/serve_web.py [--port 8080] [--bind 127.0.0.1] [--server http://localhost:5005]

The widget reads where the assistant is from `config.js`; this server writes that file from
`--server`, so the committed `web/config.js` (same address as the page, for a proxy such as
nginx) stays as it is. Only files inside web/ are served, with no directory listings.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
SOCKET_CLIENT = WEB_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"


def content_security_policy(server: str) -> str:
    """Scripts and styles from this page's own address only; connections to the assistant only."""
    parts = urlsplit(server)
    websocket = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
    return (
        f"default-src 'self'; connect-src 'self' {server} {websocket}; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
    )


class WidgetHandler(SimpleHTTPRequestHandler):
    """Static files from web/, plus the generated config.js."""

    server_url: str = ""
    verbose: bool = False

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if urlsplit(self.path).path == "/config.js":
            body = f"window.ASSISTANT_SERVER = {json.dumps(self.server_url)};\n".encode()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/javascript; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", content_security_policy(self.server_url))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def list_directory(self, path: str):  # type: ignore[override]
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
        if self.verbose:
            super().log_message(format, *args)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--server", default="http://localhost:5005", help="the Rasa server's address")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    options = parser.parse_args(argv)
    if not SOCKET_CLIENT.exists():
        print(f"Missing {SOCKET_CLIENT}: run `npm ci` in web/ (make run does it).", file=sys.stderr)
        return 1
    settings = {"server_url": options.server.rstrip("/"), "verbose": options.verbose}
    handler = type("Handler", (WidgetHandler,), settings)
    files = partial(handler, directory=str(WEB_ROOT))
    with ThreadingHTTPServer((options.bind, options.port), files) as httpd:
        host = "localhost" if options.bind == "127.0.0.1" else options.bind
        print(f"Website widget on http://{host}:{httpd.server_address[1]}/", flush=True)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
