"""The action server's Prometheus metrics: what only the actions know (which topic and trial an
answer was about, a request for advice declined, how the knowledge store answered), served on a
port of their own (`METRICS_PORT`) that nothing outside the cluster's network reaches.

Labels are topic names and trial keys, which come from the intents and the knowledge store, and
are checked against `LABEL` besides: nothing a patient typed can become a label, so the number of
series stays bounded.
"""

from __future__ import annotations

import logging
import re
import time
from contextlib import contextmanager
from typing import Iterable, Iterator, Mapping

from prometheus_client import Counter, Histogram, start_http_server

logger = logging.getLogger(__name__)

PORT_VARIABLE = "METRICS_PORT"
LABEL = re.compile(r"[a-z][a-z0-9_-]{0,39}")  # topic names, trial keys ("care-ms-ii")
OTHER = "other"
NONE = "none"

ANSWERS = Counter(
    "actions_answers_total", "Answers given from the knowledge store, by topic and trial.", ["topic", "trial"]
)
NO_KNOWLEDGE = Counter(
    "actions_no_knowledge_total", "Questions on a topic the store has nothing on, by topic.", ["topic"]
)
ADVICE_REFUSALS = Counter(
    "actions_advice_refusals_total", "Requests for personal medical advice kindly declined."
)
STORE_ERRORS = Counter("actions_knowledge_store_errors_total", "Reads of the knowledge store that failed.")
STORE_SECONDS = Histogram(
    "actions_knowledge_store_seconds",
    "Time to read one answer's facts from the knowledge store.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


def label(value: str | None) -> str:
    """A topic or trial as a label: itself when it looks like one, else "other"."""
    if not value:
        return NONE
    return value if LABEL.fullmatch(value) else OTHER


def answered(topics: Iterable[str], trials: Iterable[str]) -> None:
    """One answer: counted once for each topic and trial it covered."""
    keys = list(trials) or [None]
    for topic in topics:
        for trial in keys:
            ANSWERS.labels(label(topic), label(trial)).inc()


def no_knowledge(topic: str | None) -> None:
    NO_KNOWLEDGE.labels(label(topic)).inc()


def advice_refused() -> None:
    ADVICE_REFUSALS.inc()


@contextmanager
def store_read(failures: tuple[type[BaseException], ...]) -> Iterator[None]:
    """Time one answer's reads of the knowledge store, counting an error if one of `failures`
    (the store's, not the answer's own) is raised."""
    started = time.perf_counter()
    try:
        yield
    except failures:
        STORE_ERRORS.inc()
        raise
    finally:
        STORE_SECONDS.observe(time.perf_counter() - started)


def port(environment: Mapping[str, str]) -> int | None:
    value = environment.get(PORT_VARIABLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"{PORT_VARIABLE} must be a port number, not {value!r}.")
    return int(value)


def serve(environment: Mapping[str, str], interface: str, workers: int) -> None:
    """Serve /metrics on `METRICS_PORT` of `interface`, the server's own, in a thread."""
    given = port(environment)
    if given is None:
        return
    if workers != 1:
        # Each worker would count on its own and only one could listen: scale by replicas.
        raise SystemExit(
            f"{PORT_VARIABLE} needs one worker (SANIC_WORKERS=1): run more action servers instead."
        )
    start_http_server(given, addr=interface)
    logger.info("Metrics on http://%s:%s/metrics", interface, given)
