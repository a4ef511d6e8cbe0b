"""The Rasa server's Prometheus metrics, counted where the processor, the stores and the lock see
each event, and served on a port of their own (`METRICS_PORT`) that no proxy forwards.

What a turn did is read from the intent and the actions Rasa ran for it, never from the text:
every label is one of a few fixed values, so no metric can carry what a patient typed or which
conversation it was. `serve` starts the endpoint; without `METRICS_PORT` nothing listens (as for
`make run`), and counting still costs only a few increments a turn.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

try:
    from prometheus_client import Counter, Gauge, Histogram, start_http_server
except ImportError:  # the stock rasa/rasa image docker-compose.yml runs has no prometheus-client
    Counter = Gauge = Histogram = start_http_server = None  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)

PORT_VARIABLE = "METRICS_PORT"
# The intent the red-flag check sets, and the reply it must lead to (data/rules.yml).
RED_FLAG_INTENT = "red_flag"
URGENT_HELP = "utter_urgent_help"
# Rasa's fallbacks as this assistant configures them (config.yml): a message the classifier is
# unsure of (its two-stage "did you mean?" follows), or no rule or story for what comes next.
NLU_FALLBACK_INTENT = "nlu_fallback"
CORE_FALLBACK_ACTION = "action_default_fallback"
# The stores whose outages are counted, as `StoreOutage` names them.
STORES = frozenset({"database", "redis"})


class _Uncounted:
    """A metric where prometheus-client is not installed: counts nothing (`serve` says so)."""

    def labels(self, *_: Any) -> _Uncounted:
        return self

    def inc(self, *_: Any) -> None: ...

    def observe(self, *_: Any) -> None: ...

    def set(self, *_: Any) -> None: ...


def _metric(kind: Any, *arguments: Any, **options: Any) -> Any:
    return _Uncounted() if kind is None else kind(*arguments, **options)


TURNS = _metric(Counter, "assistant_turns_total", "Messages handled, by outcome.", ["outcome"])
TURN_SECONDS = _metric(
    Histogram,
    "assistant_turn_seconds",
    "Time to handle one message, understanding to the last reply saved.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
FALLBACKS = _metric(
    Counter, "assistant_fallbacks_total", "Turns answered by a fallback, by its kind.", ["kind"]
)
EMERGENCIES = _metric(
    Counter, "assistant_emergencies_escalated_total", "Messages given the urgent-help reply."
)
EMERGENCY_ERRORS = _metric(
    Counter,
    "assistant_emergency_errors_total",
    "Messages that raised a red flag but failed before the urgent-help reply was sent.",
)
ACTION_SERVER_FAILURES = _metric(
    Counter, "assistant_action_server_failures_total", "Custom actions answered without the action server."
)
LOCK_WAIT_SECONDS = _metric(
    Histogram,
    "assistant_lock_wait_seconds",
    "Time a message waited for its conversation's lock (shared Redis lock store).",
    buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 20.0),
)
LOCAL_LOCKS = _metric(
    Counter,
    "assistant_lock_local_total",
    "Messages handled under this server's own lock while Redis was down.",
)
STORE_ERRORS = _metric(
    Counter, "assistant_store_errors_total", "Failed calls to a store, by store.", ["store"]
)
STORE_UP = _metric(
    Gauge, "assistant_store_up", "Whether the last call to a store succeeded (1) or failed (0).", ["store"]
)


@dataclass
class Turn:
    """What one message led to, as far as the metrics care."""

    started: float = field(default_factory=time.perf_counter)
    red_flag: bool = False
    escalated: bool = False
    fallback: str | None = None  # "not_understood" or "no_next_action"


_turn: ContextVar[Turn | None] = ContextVar("metrics_turn", default=None)


@contextmanager
def turn() -> Iterator[Turn]:
    """Count one message, its time, and whether a red flag it raised was answered."""
    current = Turn()
    token = _turn.set(current)
    outcome = "failed"
    try:
        yield current
        outcome = "answered"
    finally:
        _turn.reset(token)
        TURNS.labels(outcome).inc()
        TURN_SECONDS.observe(time.perf_counter() - current.started)
        if current.red_flag and not current.escalated:
            EMERGENCY_ERRORS.inc()
        if current.fallback:
            FALLBACKS.labels(current.fallback).inc()


def understood(intent: str | None) -> None:
    current = _turn.get()
    if current is not None and intent == RED_FLAG_INTENT:
        current.red_flag = True
    elif current is not None and intent == NLU_FALLBACK_INTENT:
        current.fallback = "not_understood"


def acted(action: str) -> None:
    """Note the fallbacks and count the urgent-help replies among the actions a turn runs."""
    current = _turn.get()
    if action == CORE_FALLBACK_ACTION and current is not None:
        current.fallback = current.fallback or "no_next_action"
    elif action == URGENT_HELP:
        EMERGENCIES.inc()
        if current is not None:
            current.escalated = True


def answered_without_action_server() -> None:
    ACTION_SERVER_FAILURES.inc()


def lock_waited(seconds: float) -> None:
    LOCK_WAIT_SECONDS.observe(seconds)


def locked_locally() -> None:
    LOCAL_LOCKS.inc()


def store_failed(store: str) -> None:
    if store in STORES:
        STORE_ERRORS.labels(store).inc()
        STORE_UP.labels(store).set(0)


def store_answered(store: str) -> None:
    if store in STORES:
        STORE_UP.labels(store).set(1)


def port(environment: Mapping[str, str]) -> int | None:
    """The metrics port, or None when metrics are not served."""
    value = environment.get(PORT_VARIABLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"{PORT_VARIABLE} must be a port number, not {value!r}.")
    return int(value)


def serve(environment: Mapping[str, str], interface: str) -> None:
    """Serve /metrics on `METRICS_PORT` of `interface`, the server's own, in a thread."""
    given = port(environment)
    if given is None:
        return
    if start_http_server is None:
        logger.error("%s is set but prometheus-client is not installed here: no metrics", PORT_VARIABLE)
        return
    start_http_server(given, addr=interface)
    logger.info("Metrics on http://%s:%s/metrics", interface, given)
