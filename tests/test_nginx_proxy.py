"""The production web server, for real: docker/web/nginx.conf run by Debian's nginx in front of the
running assistant, as the `web` service of docker-compose.yml runs it in front of the `rasa`
replicas. Only the upstream, the port and the paths are changed (each checked to be there once).
Install nginx with scripts/install-nginx; the test starts its own on a free loopback port.

The limits are per client address. Tests that need a client of their own (a fresh allowance, and
no effect on the other tests) send from another loopback address: all of 127.0.0.0/8 reaches the
nginx listening on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import os
import pwd
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, Union
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
# The largest request body nginx passes on, by way in: REST and the widget's socket.io carry one
# chat message (the app answers one over 2,000 characters with "too long"); Slack and Telegram
# retry an update that gets an error, so they get room.
BODY_LIMITS = {
    "/webhooks/rest/": 16 * 1024,
    "/socket.io/": 16 * 1024,
    "/webhooks/slack/": 64 * 1024,
    "/webhooks/telegram/": 64 * 1024,
}
# The ways in that carry what one visitor or program sends, limited per client address; Slack's
# and Telegram's updates all come from a few of the platform's addresses, so those are not.
LIMITED_PER_ADDRESS = ("/webhooks/rest/", "/socket.io/")
CHAT_APPS = ("/webhooks/slack/", "/webhooks/telegram/")
NGINX_ERROR_PAGE = b"<center>nginx</center>"  # in every error page nginx makes itself


# ---------------------------------------------------------------------------------------------
# The configuration as written

Directive = tuple[str, list[str], Union[list, None]]  # (name, arguments, the block's directives)


def nginx_tokens(text: str) -> Iterator[str]:
    """Words (quotes removed), "{", "}" and ";", without the comments."""
    for match in re.finditer(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|(#[^\n]*)|([{};])|([^\s{};"\'#]+)', text):
        double, single, comment, punctuation, word = match.groups()
        if comment is None:
            yield next(part for part in (double, single, punctuation, word) if part is not None)


def parse_nginx(tokens: Iterator[str]) -> list[Directive]:
    directives: list[Directive] = []
    words: list[str] = []
    for token in tokens:
        if token == ";":
            directives.append((words[0], words[1:], None))
            words = []
        elif token == "{":
            directives.append((words[0], words[1:], parse_nginx(tokens)))
            words = []
        elif token == "}":
            break
        else:
            words.append(token)
    return directives


def nginx_config() -> list[Directive]:
    return parse_nginx(nginx_tokens(NGINX_CONF.read_text()))


def block(directives: list[Directive], name: str) -> list[Directive]:
    (found,) = [children for directive, _, children in directives if directive == name]
    return found


def arguments(directives: list[Directive], name: str) -> list[list[str]]:
    """The arguments of each `name` directive in this block (not in the blocks inside it)."""
    return [args for directive, args, _ in directives if directive == name]


def http_block() -> list[Directive]:
    return block(nginx_config(), "http")


def server_block() -> list[Directive]:
    return block(http_block(), "server")


def locations() -> dict[str, list[Directive]]:
    """{prefix: directives} of the server's prefix locations (`location /x/ {...}`)."""
    return {args[0]: children for name, args, children in server_block()
            if name == "location" and len(args) == 1}  # fmt: skip


def size_in_bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmM]?)", size).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024 * 1024}[unit.lower()]


def limit_req(location: list[Directive]) -> dict[str, str]:
    """The location's one limit_req: {"zone": ..., "burst": ..., "nodelay": ""}."""
    (found,) = arguments(location, "limit_req")
    return dict(word.partition("=")[::2] for word in found)


def zone_keys(directive: str) -> dict[str, str]:
    """{zone name: key} of the http block's limit_req_zone or limit_conn_zone directives."""
    keys = {}
    for args in arguments(http_block(), directive):
        zone = next(word for word in args if word.startswith("zone="))
        keys[zone.removeprefix("zone=").partition(":")[0]] = args[0]
    return keys


def maps() -> dict[str, tuple[str, dict[str, str]]]:
    """{variable a map sets: (what it reads, {value read: value given})}."""
    return {args[1]: (args[0], {name: values[0] for name, values, _ in children})
            for name, args, children in http_block() if name == "map"}  # fmt: skip


def test_each_way_in_takes_a_body_only_as_large_as_what_it_carries() -> None:
    (default,) = arguments(http_block(), "client_max_body_size")
    assert size_in_bytes(default[0]) <= 1024, "the widget's files take no body: keep the default small"
    passed_on = {path: directives for path, directives in locations().items()
                 if arguments(directives, "proxy_pass")}  # fmt: skip
    assert set(passed_on) == set(BODY_LIMITS)
    assert {path: size_in_bytes(arguments(directives, "client_max_body_size")[0][0])
            for path, directives in passed_on.items()} == BODY_LIMITS  # fmt: skip


def test_rest_and_socket_io_are_rate_limited_per_client_address_with_429() -> None:
    assert arguments(http_block(), "limit_req_status") == [["429"]]
    assert arguments(http_block(), "limit_conn_status") == [["429"]]
    request_zones = zone_keys("limit_req_zone")
    for path in LIMITED_PER_ADDRESS:
        limit = limit_req(locations()[path])
        assert request_zones[limit["zone"]] == "$binary_remote_addr", path
        assert int(limit["burst"]) > 0 and "nodelay" in limit, f"{path}: a burst, answered at once"
    # Open WebSockets per address: the key is the address for an upgrade request, and empty (not
    # counted) for any other.
    (connections,) = arguments(locations()["/socket.io/"], "limit_conn")
    key = zone_keys("limit_conn_zone")[connections[0]]
    assert maps()[key] == ("$http_upgrade", {"default": "$binary_remote_addr", "": ""})
    assert int(connections[1]) > 0


def test_slack_and_telegram_updates_are_not_rate_limited() -> None:
    """Not per address (every update comes from a few of the platform's), and not overall, which
    would let anyone who floods the webhooks shut the real updates out; nor anywhere that their
    locations would inherit a limit from."""
    for level in (http_block(), server_block(), *(locations()[path] for path in CHAT_APPS)):
        assert arguments(level, "limit_req") == [] and arguments(level, "limit_conn") == []


def test_nothing_stops_the_authorization_header_reaching_the_assistant() -> None:
    """Programs send REST_API_TOKEN in it; nginx passes a client's headers on unless told not to."""
    levels = [http_block(), server_block(), *locations().values()]
    for level in levels:
        assert not [
            args for args in arguments(level, "proxy_set_header") if args[0].lower() == "authorization"
        ]
        assert arguments(level, "proxy_pass_request_headers") in ([], [["on"]])


def test_the_rasa_servers_are_told_the_one_address_nginx_saw() -> None:
    """They trust one X-Forwarded-For hop (TRUSTED_PROXIES=1 in docker-compose.yml): nginx's."""
    levels = [server_block(), *locations().values()]
    forwarded = [args[1] for level in levels for args in arguments(level, "proxy_set_header")
                 if args[0].lower() == "x-forwarded-for"]  # fmt: skip
    assert forwarded and set(forwarded) == {"$remote_addr"}


# ---------------------------------------------------------------------------------------------
# The configuration, run by nginx in front of the assistant


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


def post_from(client: str, url: str, body: bytes, timeout: float = 10) -> tuple[int, bytes]:
    """POST `body` from the loopback address `client`: (status, body), for error statuses too."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=timeout, source_address=(client, 0)
    )
    try:
        connection.request("POST", parts.path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def refused_by_nginx(answer: tuple[int, bytes], status: int) -> bool:
    """Whether nginx itself answered with `status` (an error page of its own), rather than
    passing the request on; the assistant may answer with the same status for its own reasons."""
    return answer[0] == status and NGINX_ERROR_PAGE in answer[1]


def padded(payload: dict, size: int) -> bytes:
    """`payload` as JSON, padded with trailing spaces (which JSON allows) to exactly `size` bytes."""
    body = json.dumps(payload).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


def test_a_rest_body_over_its_limit_is_refused_before_it_reaches_the_assistant(proxy_url: str) -> None:
    url, limit = proxy_url + "webhooks/rest/webhook", BODY_LIMITS["/webhooks/rest/"]
    message = {"sender": "nginx-size", "message": "hello"}
    assert refused_by_nginx(post_from("127.0.0.20", url, padded(message, limit + 1)), 413)
    assert not refused_by_nginx(post_from("127.0.0.20", url, padded(message, limit)), 413)


@pytest.mark.parametrize("path", CHAT_APPS)
def test_a_chat_app_update_larger_than_a_rest_body_is_passed_on_up_to_its_own_limit(
    proxy_url: str, path: str
) -> None:
    """The longest Telegram message (4,096 characters), escaped as JSON: more than 24 kB. The
    assistant refuses it (it carries no platform's signature or token): the point is that nginx
    passed it on."""
    text = "é" * 4096
    update = {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "text": text},
              "event": {"type": "message", "text": text}}  # fmt: skip
    assert len(json.dumps(update)) > BODY_LIMITS["/webhooks/rest/"]
    url, limit = proxy_url + path.lstrip("/") + "webhook", BODY_LIMITS[path]
    assert not refused_by_nginx(post_from("127.0.0.21", url, padded(update, limit)), 413)
    assert refused_by_nginx(post_from("127.0.0.21", url, padded(update, limit + 1)), 413)


def test_a_burst_of_rest_requests_from_one_address_is_served_up_to_its_limit_then_refused_with_429(
    proxy_url: str,
) -> None:
    """nginx passes on a client's first request and the burst after it, and refuses the rest at
    once, until the client slows down; another client is served meanwhile."""
    burst = int(limit_req(locations()["/webhooks/rest/"])["burst"])
    url, sent = proxy_url + "webhooks/rest/webhook", burst + 10
    together = threading.Barrier(sent)

    def ask(number: int) -> tuple[int, bytes]:
        together.wait(timeout=10)
        body = json.dumps({"sender": f"nginx-burst-{number}", "message": "hello"}).encode()
        return post_from("127.0.0.30", url, body)

    with ThreadPoolExecutor(max_workers=sent) as pool:
        answers = list(pool.map(ask, range(sent)))
    passed = [answer for answer in answers if not refused_by_nginx(answer, 429)]
    # The requests arrive within milliseconds, in which the allowance grows by a fraction of one.
    assert burst + 1 <= len(passed) <= burst + 2, [status for status, _ in answers]
    other = json.dumps({"sender": "nginx-other-client", "message": "hello"}).encode()
    assert not refused_by_nginx(post_from("127.0.0.31", url, other), 429)


def test_no_other_webhook_is_passed_on(proxy_url: str) -> None:
    """Rasa serves more under /webhooks/ (the socket.io channel's own, for one); a channel nginx
    does not know has no limits set for it."""
    for path in ("webhooks/socketio/", "webhooks/callback/webhook", "webhooks/"):
        status, headers, body = fetch(proxy_url + path)
        assert status == 404 and NGINX_ERROR_PAGE in body, path


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
