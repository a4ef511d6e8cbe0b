"""The production web server, for real: docker/web/nginx.conf run by Debian's nginx in front of the
running assistant, as the `web` service of docker-compose.yml runs it in front of the `rasa`
replicas. Only the upstream, the port and the paths are changed (each checked to be there once).
Install nginx with scripts/install-nginx; the test starts its own on a free loopback port."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, WebSocket, expect

from tests.helpers import PROJECT_ROOT
from tests.live_bot import ServerProcess, free_port
from tests.test_web_widget import ANSWER_SECONDS, QUESTION, ask, bot_messages, chromium

NGINX_CONF = PROJECT_ROOT / "docker" / "web" / "nginx.conf"
WEB_ROOT = PROJECT_ROOT / "web"
SOCKET_CLIENT = "node_modules/socket.io-client/dist/socket.io.min.js"
WIDGET_FILES = {
    "": "text/html",
    "widget.js": "application/javascript",
    "widget.css": "text/css",
    "config.js": "application/javascript",
    SOCKET_CLIENT: "application/javascript",
}
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.fail("nginx is not installed: run scripts/install-nginx (it installs Debian's nginx-light).")
    return found


def rendered_config(prefix: Path, port: int, rasa_address: str) -> str:
    """docker/web/nginx.conf with the container's names swapped for this machine's."""
    user = pwd.getpwuid(os.getuid()).pw_name  # as root, workers read the repository as root
    temp_paths = "".join(f"    {name}_temp_path {prefix / name};\n" for name in TEMP_PATHS)
    replacements = {
        "user nginx;": f"user {user};",
        "listen 80;": f"listen 127.0.0.1:{port};",
        "server rasa:5005;": f"server {rasa_address};",
        "root /usr/share/nginx/html;": f"root {WEB_ROOT};",
        "http {\n": "http {\n" + temp_paths,
    }
    text = NGINX_CONF.read_text()
    for container, here in replacements.items():
        assert text.count(container) == 1, f"{NGINX_CONF.name} no longer has exactly one {container!r}"
        text = text.replace(container, here)
    return text


@pytest.fixture(scope="module")
def proxy_url(live_bot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx, with the production config, passing to the running assistant."""
    if not (WEB_ROOT / SOCKET_CLIENT).exists():
        pytest.fail(f"Missing web/{SOCKET_CLIENT}: run `make web`.")
    prefix = tmp_path_factory.mktemp("nginx")
    port = free_port()
    config = prefix / "nginx.conf"
    config.write_text(rendered_config(prefix, port, urlsplit(live_bot.base_url).netloc))
    command = [nginx_binary(), "-p", f"{prefix}/", "-c", str(config), "-e", str(prefix / "error.log"),
               "-g", f"daemon off; pid {prefix / 'nginx.pid'};"]  # fmt: skip
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    url = f"http://127.0.0.1:{port}/"
    server = ServerProcess("nginx", command, prefix, dict(os.environ), url).start()
    try:
        yield server.wait().health
    finally:
        server.stop()


def fetch(url: str, data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body), for error statuses too."""
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def assert_security_headers(headers: dict[str, str], proxy_url: str) -> None:
    """As scripts/serve_web.py sends them, with the connections allowed to this page's own address."""
    address = urlsplit(proxy_url).netloc
    policy = headers["Content-Security-Policy"]
    assert f"connect-src 'self' ws://{address} wss://{address};" in policy
    for directive in ("default-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"):
        assert directive in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_the_widget_and_its_socket_io_client_are_served_with_the_security_headers(proxy_url: str) -> None:
    for path, content_type in WIDGET_FILES.items():
        status, headers, body = fetch(proxy_url + path)
        assert status == 200, path
        assert headers["Content-Type"].startswith(content_type), (path, headers["Content-Type"])
        assert body == (WEB_ROOT / (path or "index.html")).read_bytes(), path
        assert_security_headers(headers, proxy_url)
    assert "nginx/" not in fetch(proxy_url)[1].get("Server", "")  # no version given away


def test_nothing_but_the_widget_is_served_and_no_folder_is_listed(proxy_url: str) -> None:
    for path in ("package.json", "package-lock.json", "node_modules/", "node_modules/socket.io-client/dist/",
                 "node_modules/axe-core/axe.min.js", "node_modules/socket.io-client/package.json",
                 "../README.md", ".env"):  # fmt: skip
        status, headers, _ = fetch(proxy_url + path)
        assert status in (400, 404), (path, status)
        if status == 404:
            assert_security_headers(headers, proxy_url)


def test_a_page_from_a_host_with_odd_characters_gets_no_extra_policy(proxy_url: str) -> None:
    """Only a well-formed host:port is copied into the content security policy."""
    request = urllib.request.Request(proxy_url, headers={"Host": "evil;script-src*"})
    with urllib.request.urlopen(request, timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
    assert "evil" not in policy and "connect-src 'self' ;" in policy


def test_a_question_through_the_proxy_gets_its_answer(proxy_url: str) -> None:
    body = json.dumps({"sender": "nginx-rest", "message": QUESTION}).encode()
    status, _, answer = fetch(proxy_url + "webhooks/rest/webhook", body)
    assert status == 200
    assert any("35%" in message.get("text", "") for message in json.loads(answer))


def test_a_request_over_the_size_limit_is_refused_before_it_reaches_the_assistant(proxy_url: str) -> None:
    body = json.dumps({"sender": "nginx-big", "message": "x" * 100_000}).encode()
    status, _, _ = fetch(proxy_url + "webhooks/rest/webhook", body)
    assert status == 413


def test_socket_io_long_polling_is_passed_through(proxy_url: str) -> None:
    """The widget's fallback when a WebSocket cannot be opened: the engine.io handshake."""
    status, _, body = fetch(proxy_url + "socket.io/?EIO=4&transport=polling")
    assert status == 200
    handshake = json.loads(body.decode()[1:])  # "0" (open), then the session's settings
    assert body.startswith(b"0") and "websocket" in handshake["upgrades"] and handshake["sid"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def test_the_widget_served_by_nginx_answers_over_the_proxied_websocket(
    browser: Browser, proxy_url: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    received: dict[str, list[str]] = {}  # WebSocket URL: the frames the page received on it
    problems: list[str] = []

    def watch(socket: WebSocket) -> None:
        frames = received.setdefault(socket.url, [])
        socket.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", watch)
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)  # fmt: skip
    page.goto(proxy_url)
    expect(bot_messages(page).filter(has_text="What would you like to know?")).to_be_visible(
        timeout=ANSWER_SECONDS
    )
    ask(page, QUESTION)
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)
    context.close()
    proxied = {url: frames for url, frames in received.items()
               if url.startswith(f"ws://{urlsplit(proxy_url).netloc}/socket.io/")}  # fmt: skip
    assert any("35%" in frame for frames in proxied.values() for frame in frames), received.keys()
    assert problems == []  # nothing refused, nothing blocked by the content security policy
