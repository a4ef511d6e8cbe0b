"""The action server: rasa_sdk's own app, locked down for a server that handles patient data.

    python -m actions.server [--interface 127.0.0.1] [--port 5055] [--actions actions]

It serves the app `rasa_sdk.endpoint.create_app` builds (the same `/webhook`, `/actions` and
`/health`), changed only from outside, because a tracker holds a patient's whole conversation:

- It listens on loopback unless told otherwise: `--interface`, else the `ACTIONS_INTERFACE`
  environment variable, else 127.0.0.1. (`rasa run actions` listens on 0.0.0.0.) Docker compose
  passes `--interface 0.0.0.0` so that the Rasa servers' containers reach it.
- With `ACTION_SERVER_TOKEN` in the environment, every request but `GET /health` must carry
  `Authorization: Bearer <token>`, the header the Rasa server sends from the `headers` of
  `action_endpoint` in endpoints.yml; anything else gets 401 before its body is parsed. Without
  a token it still runs, and says at start that anything that can reach it can run the actions.
- An error response never repeats the request (rasa_sdk's 500 sends the whole body back), and
  the log names only the action and the exception's type and place, never its message, which
  can quote what the patient typed. A body that is not an action call gets 400, not 500.
- No CORS: no browser has any business calling it.
- A request may be at most MAX_REQUEST_BYTES (Sanic's default is 100 MB).

`GET /health` stays open for probes; `SANIC_WORKERS` sets the number of workers, as for rasa_sdk.
With `METRICS_PORT`, Prometheus metrics (`actions.metrics`) are served on that port of the same
interface (one worker only). With `LOG_FORMAT=json`, log lines are JSON that never carry what a
patient typed, each action call's with the conversation's hashed id and its time
(`safety.log_lines`).
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import time
import traceback
import zlib
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from safety import log_lines

log_lines.from_the_start("actions")  # rasa_sdk's imports already warn

from rasa_sdk import utils  # noqa: E402
from rasa_sdk.constants import DEFAULT_SERVER_PORT  # noqa: E402
from rasa_sdk.endpoint import create_app as create_rasa_sdk_app  # noqa: E402
from sanic import Sanic  # noqa: E402
from sanic.exceptions import InvalidUsage, SanicException  # noqa: E402
from sanic.request import Request  # noqa: E402
from sanic.response import HTTPResponse  # noqa: E402
from sanic.response import json as json_response  # noqa: E402

from actions import metrics  # noqa: E402

logger = logging.getLogger("actions.server")  # not "__main__" under `python -m`

TOKEN_VARIABLE = "ACTION_SERVER_TOKEN"
INTERFACE_VARIABLE = "ACTIONS_INTERFACE"
DEFAULT_INTERFACE = "127.0.0.1"

# A tracker carries every event since the conversation's session started (a session ends after
# 60 idle minutes, domain.yml), plus the domain (about 3 KB). One question and its answer add about
# 3.5 KB of events (the message with its intent ranking, the action, two answers with buttons,
# three slots). A patient asking a question every 10 seconds for an hour sends about 1.3 MB;
# 4 MB leaves room for about 1,000 turns, and refuses the 100 MB Sanic would otherwise read.
MAX_REQUEST_BYTES = 4 * 1024 * 1024

NO_TOKEN = "This request needs the action server's token."
NOT_AN_ACTION_CALL = "This is not an action call."
TOO_LARGE = "This request is larger than the action server accepts."
SERVER_ERROR = "The action server could not run this request."


class NotAnActionCall(ValueError):
    """A webhook body that rasa_sdk would fail on, or answer with nothing."""


def token_from(environment: Mapping[str, str]) -> bytes | None:
    """The shared token, or None when it is unset or blank (a blank one would let anyone in)."""
    token = environment.get(TOKEN_VARIABLE, "").strip()
    return token.encode() if token else None


def carries_token(authorization: str | None, token: bytes) -> bool:
    """Whether an Authorization header is `Bearer <token>`, compared in constant time."""
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(errors="replace"), token)


def inflate(body: bytes, limit: int = MAX_REQUEST_BYTES) -> bytes:
    """A deflated body (Rasa sends one when COMPRESS_ACTION_SERVER_REQUEST is on), inflated no
    further than `limit`: a few kilobytes can inflate to gigabytes."""
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise NotAnActionCall("not deflated data") from error
    if len(inflated) > limit:
        raise OverflowError("inflates past the size limit")
    return inflated


def action_name(call: Any) -> str:
    """The action an action call asks for, if it is one rasa_sdk can run.

    rasa_sdk answers `{}` with 200 and `null`, and fails with 500 (quoting the body back) on a
    list, a string, or a tracker that is not an object.
    """
    if not isinstance(call, dict):
        raise NotAnActionCall("not a JSON object")
    name, tracker, domain = call.get("next_action"), call.get("tracker"), call.get("domain")
    if not isinstance(name, str) or not name:
        raise NotAnActionCall("no next_action")
    if not isinstance(tracker, dict):
        raise NotAnActionCall("no tracker")
    if domain is not None and not isinstance(domain, dict):
        raise NotAnActionCall("the domain is not an object")
    return name


def loggable(name: object) -> str:
    """An action's name for the log, if it looks like one; the caller chose it."""
    text = str(name)
    if 0 < len(text) <= 100 and text.replace("_", "").replace("-", "").replace(".", "").isalnum():
        return text
    return "(unnamed)"


def where_raised(exception: BaseException) -> str:
    """The file, line and function an exception came from: code, never data."""
    frames = traceback.extract_tb(exception.__traceback__)
    if not frames:
        return "unknown place"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"


def _route_name(app: Sanic, path: str) -> str:
    names = [route.name for route in app.router.routes if route.path == path]
    if len(names) != 1:
        raise RuntimeError(f"rasa_sdk's app has no single route /{path}: has rasa_sdk changed?")
    return names[0]


def harden(app: Sanic, token: bytes | None) -> Sanic:
    """Add the token check, the body check, the quiet error handler and the size limit to an
    app from `rasa_sdk.endpoint.create_app`."""
    health, webhook = _route_name(app, "health"), _route_name(app, "webhook")
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES

    def require_token(request: Request) -> HTTPResponse | None:
        # Sanic also runs this when it refuses a request before its handler (404, 405, 413), so
        # a caller without the token learns nothing from those either.
        if token is None or (request.name == health and request.method == "GET"):
            return None
        if carries_token(request.headers.get("Authorization"), token):
            return None
        return json_response({"error": NO_TOKEN}, status=401, headers={"WWW-Authenticate": "Bearer"})

    def require_action_call(request: Request) -> HTTPResponse | None:
        # Only for the webhook's own requests: Sanic does not run named middleware when it
        # answers an error, so a 413 stays a 413.
        try:
            if request.headers.get("Content-Encoding") == "deflate":  # as rasa_sdk decides
                call = json.loads(inflate(request.body))
            else:
                call = request.json  # parsed once: rasa_sdk's handler reuses it
            request.ctx.action_name = action_name(call)
            sender = call["tracker"].get("sender_id")
            log_lines.enter_conversation(sender if isinstance(sender, str) else None)
            request.ctx.started = time.perf_counter()
        except (InvalidUsage, ValueError, RecursionError):  # NotAnActionCall is a ValueError
            return json_response({"error": NOT_AN_ACTION_CALL}, status=400)
        except OverflowError:
            return json_response({"error": TOO_LARGE}, status=413)
        return None

    @app.listener("before_server_start")
    async def check_token_first(app: Sanic, _loop: Any) -> None:
        # sanic_cors puts its own middleware first at this moment, and answers a CORS preflight
        # (OPTIONS) itself; this listener runs after it, so the token is checked before that.
        app.request_middleware.appendleft(require_token)

    app.register_named_middleware(require_action_call, [webhook])

    def log_action_time(request: Request, _response: HTTPResponse) -> None:
        started = getattr(request.ctx, "started", None)
        if started is not None:
            seconds = time.perf_counter() - started
            log_lines.timing(logger, "action", seconds, action=loggable(request.ctx.action_name))

    app.register_named_middleware(log_action_time, [webhook], attach_to="response")

    def answer_error(request: Request, exception: Exception) -> HTTPResponse:
        """Replaces rasa_sdk's handler, which sends the request's body back with the message."""
        if isinstance(exception, SanicException) and exception.status_code < 500:
            status = exception.status_code
            return json_response({"error": _phrase(status)}, status=status)
        logger.error(
            "The action %s failed: %s at %s",
            loggable(getattr(request.ctx, "action_name", None)) if request else "(none)",
            type(exception).__name__,
            where_raised(exception),
        )
        return json_response({"error": SERVER_ERROR}, status=500)

    # Registered after create_app's handler for the same class, so it replaces it.
    app.error_handler.add(Exception, answer_error)
    return app


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Request refused"


def create_app(actions: str = "actions", token: bytes | None = None) -> Sanic:
    """rasa_sdk's app serving `actions`, with no CORS origin allowed, hardened."""
    return harden(create_rasa_sdk_app(actions, cors_origins=[]), token)


def parse_arguments(
    argv: list[str] | None = None, environment: Mapping[str, str] = os.environ
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m actions.server", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--interface",
        default=environment.get(INTERFACE_VARIABLE) or DEFAULT_INTERFACE,
        help=f"address to listen on (default: ${INTERFACE_VARIABLE}, else {DEFAULT_INTERFACE})",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_SERVER_PORT, help="port (default: %(default)s)")
    parser.add_argument("--actions", default="actions", help="package of the actions (default: %(default)s)")
    utils.add_logging_level_option_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    json_logs = log_lines.json_wanted()
    if json_logs:
        log_lines.log_as_json("actions", arguments.loglevel or logging.INFO)
    else:
        utils.configure_colored_logging(arguments.loglevel)
    utils.update_sanic_log_level()
    token = token_from(os.environ)
    app = create_app(arguments.actions, token)
    if json_logs:
        log_lines.adopt_loggers()  # Sanic gave its loggers handlers of their own
    metrics.serve(os.environ, arguments.interface, utils.number_of_sanic_workers())
    if token is None:
        logger.warning(
            "%s is not set: anything that can reach %s:%s can run the actions.",
            TOKEN_VARIABLE,
            arguments.interface,
            arguments.port,
        )
    logger.info(
        "Action server listening on http://%s:%s (token %s)",
        arguments.interface,
        arguments.port,
        "required" if token else "not required",
    )
    app.run(arguments.interface, arguments.port, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
