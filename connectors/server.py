"""Run the Rasa server with the project's plug-ins: `python -m connectors.server` takes the same
options as `rasa run`, and is how every run starts it (`make run`, `make serve`, docker compose,
the tests and the benchmarks).

Rasa 3.6 offers no plug-in point for its server (its plug-in hooks load Rasa Pro only), so this
installs the project's pieces into Rasa's modules before handing over to Rasa's own command line:

- `SafeMessageProcessor` in place of Rasa's message processor, and every custom action made
  fail-safe (`connectors.processor`): payloads only as offered, a patient answered when the
  action server fails, sessions of bounded length;
- the action server sent only what the actions read: this turn, the slots, no domain, on
  connections kept open between turns (`connectors.action_calls`), and its answers checked by
  a validator built once (`connectors.action_responses`);
- the model's graph run in plain Python rather than scheduled by dask (`connectors.graph_runner`);
- no TensorFlow, which this model does not use, imported (`connectors.without_tensorflow`);
- the Sanic app hardened (`harden`): listening on loopback unless told otherwise
  (`--interface`, else `RASA_INTERFACE`), requests of at most `MAX_REQUEST_BYTES` read within
  `REQUEST_SECONDS`, the client's address taken from `TRUSTED_PROXIES` proxies in front,
  `GET /` saying "ok" without Rasa's version, `GET /health` saying how the action server and the
  stores are ("degraded" while one is down, still 200: the server answers), and the
  retention sweep running in the background (`connectors.conversations.keep_tidy`);
- Prometheus metrics (`connectors.metrics`) on `METRICS_PORT` of the same interface, a port of
  their own that the proxy never serves; and, with `LOG_FORMAT=json`, log lines as JSON that never
  carry what a patient typed (`safety.log_lines`) in place of Rasa's coloured ones.

The channels' own checks (the gate) work under plain `rasa run` too; these do not.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Callable, Mapping

from connectors import without_tensorflow
from safety import log_lines

log_lines.from_the_start("rasa")  # Rasa's imports already warn
without_tensorflow.defer_training_helpers()  # before Rasa is imported: see the module

import rasa.core.actions.action  # noqa: E402
import rasa.core.agent  # noqa: E402
import rasa.core.processor  # noqa: E402
import rasa.core.run  # noqa: E402
import rasa.utils.io  # noqa: E402
from sanic import Sanic, response  # noqa: E402
from sanic.request import Request  # noqa: E402

from connectors import action_responses, metrics  # noqa: E402
from connectors.action_calls import close_connections  # noqa: E402
from connectors.conversations import keep_tidy, store_health  # noqa: E402
from connectors.graph_runner import SequentialGraphRunner  # noqa: E402
from connectors.processor import ACTION_SERVER, SafeMessageProcessor, fail_safe  # noqa: E402

logger = logging.getLogger(__name__)

INTERFACE_VARIABLE = "RASA_INTERFACE"
DEFAULT_INTERFACE = "127.0.0.1"
PROXIES_VARIABLE = "TRUSTED_PROXIES"
# The largest request any channel sends: a Slack or Telegram update with a long message and its
# metadata (nginx allows the same). Sanic's own default is 100 MB.
MAX_REQUEST_BYTES = 64 * 1024
# How long a client may take to send its request: long enough for a slow phone, short enough
# that a client trickling bytes cannot hold connections open (Sanic's default is 60 s).
REQUEST_SECONDS = 15


def trusted_proxies(environment: Mapping[str, str] = os.environ) -> int:
    """How many proxies in front of the server may say who the client is (X-Forwarded-For)."""
    value = environment.get(PROXIES_VARIABLE, "").strip() or "0"
    if not value.isdigit():
        raise SystemExit(f"{PROXIES_VARIABLE} must be a whole number (the proxies in front), not {value!r}.")
    return int(value)


def harden(app: Sanic, environment: Mapping[str, str] = os.environ) -> Sanic:
    """The app Rasa configured, with the limits, routes and task described in the docstring."""
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES
    app.config.REQUEST_TIMEOUT = REQUEST_SECONDS
    app.config.PROXIES_COUNT = trusted_proxies(environment)

    @app.middleware("request")
    async def answer_probes(request: Request) -> response.HTTPResponse | None:
        # Rasa's root route says "Hello from Rasa: <version>": an attacker's first question.
        if request.method == "GET" and request.path == "/":
            return response.json({"status": "ok"})
        if request.method == "GET" and request.path == "/health":
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"status": "starting"}, status=503)
            parts = {"action_server": ACTION_SERVER.health(), **store_health(agent)}
            degraded = any(
                not part.get("reachable", True) or part.get("unsaved_conversations")
                for part in parts.values()
            )
            # 200 either way: a degraded server still answers, emergencies first, and must stay in rotation.
            return response.json({"status": "degraded" if degraded else "ok", **parts})
        return None

    @app.listener("before_server_stop")
    async def close_action_connections(*_: Any) -> None:
        await close_connections()

    if log_lines.json_wanted(environment):

        @app.listener("before_server_start")
        async def log_sanic_as_json(*_: Any) -> None:
            log_lines.adopt_loggers()  # Sanic gave its loggers handlers of their own

    app.add_task(keep_tidy)
    return app


def _configure_app_hardened(configure_app: Callable[..., Sanic]) -> Callable[..., Sanic]:
    def configure_app_hardened(*args: Any, **kwargs: Any) -> Sanic:
        return harden(configure_app(*args, **kwargs))

    return configure_app_hardened


def install() -> None:
    """Put the project's pieces into Rasa's modules (once)."""
    if getattr(rasa.core.run.configure_app, "hardened", False):
        return
    action_responses.install()
    without_tensorflow.predict_only()
    rasa.core.agent.MessageProcessor = SafeMessageProcessor  # type: ignore[misc]
    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner  # type: ignore[misc]
    actions = rasa.core.actions.action
    actions.action_for_name_or_text = fail_safe(actions.action_for_name_or_text)  # type: ignore[assignment]
    configure_app = _configure_app_hardened(rasa.core.run.configure_app)
    configure_app.hardened = True  # type: ignore[attr-defined]
    rasa.core.run.configure_app = configure_app  # type: ignore[assignment]
    if log_lines.json_wanted():
        rasa.utils.io.configure_colored_logging = _log_as_json  # type: ignore[assignment]


def _log_as_json(level: str | int | None) -> None:
    """In place of Rasa's coloured logs (`rasa run` calls it once its options are read)."""
    log_lines.log_as_json("rasa", level or os.environ.get("LOG_LEVEL") or logging.INFO)


def rasa_arguments(argv: list[str], environment: Mapping[str, str] = os.environ) -> list[str]:
    """`rasa run` with these options, on loopback unless an interface is given."""
    given = any(argument in ("-i", "--interface") or argument.startswith("--interface=") for argument in argv)
    interface = [] if given else ["--interface", environment.get(INTERFACE_VARIABLE) or DEFAULT_INTERFACE]
    return ["rasa", "run", *argv, *interface]


def interface_of(arguments: list[str]) -> str:
    """The interface `rasa run` will listen on, for the metrics to listen on the same."""
    for index, argument in enumerate(arguments):
        if argument in ("-i", "--interface") and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith("--interface="):
            return argument.partition("=")[2]
    return DEFAULT_INTERFACE


def main(argv: list[str]) -> None:
    from rasa.__main__ import main as rasa_main

    install()
    sys.argv = rasa_arguments(argv)
    metrics.serve(os.environ, interface_of(sys.argv))
    rasa_main()


if __name__ == "__main__":
    main(sys.argv[1:])
