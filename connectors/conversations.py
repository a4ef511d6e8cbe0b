"""The conversation record's life, in one place: how long it is kept, how it is deleted, and how
its stores are.

- **Retention.** A conversation idle for longer than `CONVERSATION_RETENTION_DAYS` (default 30) is
  deleted. `keep_tidy`, a background task of every Rasa server, sweeps every
  `CONVERSATION_SWEEP_SECONDS` (default 3600) and, while the conversation database is or was
  down, writes the conversations it could not save back every `FLUSH_SECONDS`.
- **Deletion on request.** `delete_conversation(agent, id)` deletes every stored event of one
  conversation, on the server, when the patient asks (the gate calls it).
- **Answers and their feedback** (the feedback store, feedback/store.py) follow the same rules:
  the sweep deletes answers given more than `CONVERSATION_RETENTION_DAYS` ago, with the knowledge
  rows they name and their feedback; deleting a conversation deletes its answers' rows first (the
  store knows a conversation only by its keyed hash: `delete_feedback`).
- **Health.** `store_health(agent)`: how the tracker store and the lock store are, for `/health`.
- **Operators.** Against the database `TRACKER_STORE_URL` names, as the servers see it:

      python -m connectors.conversations delete --conversation ID [--dry-run]
      python -m connectors.conversations delete --older-than DAYS [--dry-run]

  It prints counts, never what was said. Both commands apply to the feedback store too
  (`FEEDBACK_STORE_URL`), even when conversations are kept in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
import time
from datetime import timedelta
from typing import Any, Mapping

from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    SQLTrackerStore,
    TrackerStore,
)
from rasa.utils.endpoints import EndpointConfig

from connectors.feedback import conversation_token
from connectors.tracker_store import (
    MemoryTrackerStore,
    SharedTrackerStore,
    StoreUnavailable,
    exception_name,
)
from feedback import store as feedback_store

logger = logging.getLogger(__name__)

RETENTION_VARIABLE = "CONVERSATION_RETENTION_DAYS"
SWEEP_VARIABLE = "CONVERSATION_SWEEP_SECONDS"
TRACKER_STORE_VARIABLE = "TRACKER_STORE_URL"
DEFAULT_RETENTION_DAYS = 30
DEFAULT_SWEEP_SECONDS = 3600
# While conversations wait to be written back, how often the task tries.
FLUSH_SECONDS = 30.0
DAY_SECONDS = 24 * 60 * 60
# How long the command waits for the database before saying it cannot be reached.
CONNECT_SECONDS = 5
# How long deleting or sweeping waits for the feedback store (it gives up on a dead one in 3 s).
FEEDBACK_SECONDS = 10.0


class SettingError(ValueError):
    """A retention setting that cannot work, named, so that the server does not start with it."""


def positive_whole_number(value: str, name: str) -> int:
    if not re.fullmatch(r"[0-9]+", value.strip()) or int(value) < 1:
        raise SettingError(f"{name} must be a positive whole number, not {value!r}.")
    return int(value)


def retention_days(environment: Mapping[str, str] = os.environ) -> int:
    """How many days an idle conversation is kept."""
    value = environment.get(RETENTION_VARIABLE, "").strip()
    return positive_whole_number(value, RETENTION_VARIABLE) if value else DEFAULT_RETENTION_DAYS


def sweep_seconds(environment: Mapping[str, str] = os.environ) -> int:
    """How often the retention sweep runs."""
    value = environment.get(SWEEP_VARIABLE, "").strip()
    return positive_whole_number(value, SWEEP_VARIABLE) if value else DEFAULT_SWEEP_SECONDS


# Read when the server starts, so that a setting that cannot work stops it there.
RETENTION_DAYS = retention_days()
SWEEP_SECONDS = sweep_seconds()


def conversation_store(tracker_store: TrackerStore) -> TrackerStore:
    """The store behind Rasa's wrappers (the agent's `FailSafeTrackerStore`, and the
    `AwaitableTrackerStore` around a store without async methods)."""
    while isinstance(tracker_store, (FailSafeTrackerStore, AwaitableTrackerStore)):
        tracker_store = tracker_store._tracker_store
    return tracker_store


async def delete_conversation(agent: Any, sender_id: str) -> None:
    """Delete every stored event of one conversation, every session, on the patient's request.

    Under the conversation's lock, so that no turn of it is being handled, and saved back, while
    it goes. Raises `StoreUnavailable` if the database cannot be reached: the patient must not be
    told it is deleted when it is not.
    """
    async with agent.lock_store.lock(sender_id):
        # Its answers' feedback first: if that fails, nothing is gone and asking again retries both.
        await delete_feedback(agent, sender_id)
        await delete_from(agent.tracker_store, sender_id)


async def _in_the_feedback_store(work: Any, what: str) -> Any:
    """Run `work` on the feedback store's own thread; raises if the store fails or hangs."""
    done = feedback_store.WRITER.submit(work, what)
    return await asyncio.wait_for(asyncio.wrap_future(done), FEEDBACK_SECONDS)


async def delete_feedback(agent: Any, sender_id: str) -> int:
    """Delete one conversation's answers, the knowledge rows they name and their feedback, from
    the feedback store; how many answers. Raises if the store cannot be reached."""
    hashed = feedback_store.conversation_hash(sender_id, conversation_token(agent))
    if hashed is None:
        # No token: the action server cannot have tied any answer to a conversation either.
        logger.warning("No ACTION_SERVER_TOKEN here: answers in the feedback store name no conversation")
        return 0
    url = feedback_store.store_url()
    return await _in_the_feedback_store(
        lambda: feedback_store.forget_conversation(url, hashed), "forget a conversation"
    )


async def sweep_feedback(days: int) -> int:
    """Delete the answers older than `days`, with their rows and feedback; how many answers."""
    url = feedback_store.store_url()
    swept = await _in_the_feedback_store(
        lambda: feedback_store.sweep(url, timedelta(days=days)), "retention sweep"
    )
    logger.info("Retention sweep: %d answers and their feedback older than %d days deleted", swept, days)
    return swept


async def delete_from(tracker_store: TrackerStore, sender_id: str) -> bool:
    """Delete the conversation from the store behind Rasa's wrappers; whether there was one."""
    store = conversation_store(tracker_store)
    if isinstance(store, (MemoryTrackerStore, SharedTrackerStore)):
        deleted = await store.delete(sender_id)
    elif isinstance(store, InMemoryTrackerStore):  # Rasa's own, under plain `rasa run`
        deleted = store.store.pop(sender_id, None) is not None
    else:
        raise TypeError(f"Conversations cannot be deleted from a {type(store).__name__}")
    # Rasa's wrapper keeps whatever the store failed to save in memory: that goes too.
    fallback = getattr(tracker_store, "_fallback_tracker_store", None)
    if isinstance(fallback, InMemoryTrackerStore):
        fallback.store.pop(sender_id, None)
    return deleted


def store_health(agent: Any) -> dict[str, Any]:
    """How the stores are, as their last calls found:
    `{"tracker_store": {"store", "reachable", "down_since", "unsaved_conversations"},
      "lock_store": {"store", "reachable", "down_since"}}`."""
    return {
        "tracker_store": _health(conversation_store(agent.tracker_store)),
        "lock_store": _health(agent.lock_store),
    }


def _health(store: Any) -> dict[str, Any]:
    if hasattr(store, "health"):
        return store.health()
    if isinstance(store, (InMemoryTrackerStore, InMemoryLockStore)):
        return {"store": "memory", "reachable": True, "down_since": None}
    return {"store": type(store).__name__, "reachable": None, "down_since": None}


async def keep_tidy(app: Any) -> None:
    """A Sanic background task (`app.add_task(keep_tidy)`): sweeps away conversations idle past
    the retention period every `SWEEP_SECONDS`, and writes back unsaved conversations every
    `FLUSH_SECONDS` while there are any. It logs counts only, and never stops."""
    last_sweep = last_feedback_sweep = float("-inf")
    while True:
        agent = getattr(app.ctx, "agent", None)
        store = conversation_store(agent.tracker_store) if getattr(agent, "tracker_store", None) else None
        try:
            if getattr(store, "needs_flush", False):
                await store.flush()  # type: ignore[union-attr]
            due = time.monotonic() - last_sweep >= SWEEP_SECONDS
            if due and hasattr(store, "sweep") and store.health().get("reachable"):  # type: ignore[union-attr]
                swept = await store.sweep(RETENTION_DAYS * DAY_SECONDS)  # type: ignore[union-attr]
                last_sweep = time.monotonic()
                logger.info(
                    "Retention sweep: %d conversations idle for more than %d days deleted",
                    swept,
                    RETENTION_DAYS,
                )
        except StoreUnavailable:
            pass  # the store has logged its outage; the next round tries again
        except Exception as error:  # noqa: BLE001 (the task must go on)
            logger.error("Tidying the conversations failed: %s", exception_name(error))
        if time.monotonic() - last_feedback_sweep >= SWEEP_SECONDS:
            try:
                await sweep_feedback(RETENTION_DAYS)
                last_feedback_sweep = time.monotonic()
            except Exception as error:  # noqa: BLE001 (logged by the store's writer; tried next round)
                logger.warning("The feedback store's retention sweep waits: %s", exception_name(error))
        await asyncio.sleep(min(FLUSH_SECONDS, SWEEP_SECONDS))


# -- the operators' command --------------------------------------------------------------------

IN_MEMORY = (
    f"{TRACKER_STORE_VARIABLE} is not set, so conversations are kept only in the running Rasa "
    "server's memory: there are no conversations on disk to delete. They go when the server stops, or after "
    f"{RETENTION_VARIABLE} days idle (now {{days}}); a patient can delete their own from the chat."
)


def open_store(settings: Mapping[str, Any]) -> SharedTrackerStore:
    """The servers' conversation store, from their settings; `StoreUnavailable` at once if the
    database does not answer (Rasa's store would wait for it forever)."""
    import sqlalchemy as sa

    url = SQLTrackerStore.get_db_url(
        settings["dialect"], settings.get("url"), settings.get("port"), settings["db"],
        settings.get("username"), settings.get("password"), None, settings.get("query"),
    )  # fmt: skip
    probe = sa.create_engine(url, future=True)
    try:
        with probe.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001
        raise StoreUnavailable(
            f"The conversation database cannot be reached ({exception_name(error)})"
        ) from None
    finally:
        probe.dispose()
    store = TrackerStore.create(EndpointConfig.from_dict(dict(settings)))
    if not isinstance(store, SharedTrackerStore):  # Rasa falls back to memory, silently
        raise TypeError(f"The settings made a {type(store).__name__}, not a SharedTrackerStore")
    return store


async def run_delete(
    store: SharedTrackerStore, conversation: str | None, days: int | None, dry_run: bool
) -> str:
    """Carry out `delete`; what to print."""
    if conversation is not None:
        events = await store.events_of(conversation)
        if not events:
            return f"No conversation {conversation} is stored."
        if dry_run:
            return f"Conversation {conversation} has {events} stored events (dry run: nothing deleted)."
        await store.delete(conversation)
        return f"Deleted conversation {conversation} ({events} events)."
    assert days is not None
    if dry_run:
        count = await store.idle_conversations(days * DAY_SECONDS)
        return f"{count} conversations have been idle for more than {days} days (dry run: nothing deleted)."
    count = await store.sweep(days * DAY_SECONDS)
    return f"Deleted {count} conversations idle for more than {days} days."


def run_feedback_delete(
    conversation: str | None, days: int | None, dry_run: bool, environment: Mapping[str, str]
) -> str:
    """Carry out `delete` on the feedback store (answers, their rows and feedback); what to print."""
    url = feedback_store.store_url(environment)
    if conversation is not None:
        hashed = feedback_store.conversation_hash(
            conversation, environment.get(feedback_store.TOKEN_VARIABLE)
        )
        if hashed is None:
            return (
                f"Answers and feedback: {feedback_store.TOKEN_VARIABLE} is not set, so they cannot be "
                "matched to a conversation; they go after the retention period."
            )
        if dry_run:
            count = feedback_store.count_of_conversation(url, hashed)
            return f"Answers and feedback: {count} answers of it are kept (dry run: nothing deleted)."
        return (
            f"Answers and feedback: deleted {feedback_store.forget_conversation(url, hashed)} answers of it."
        )
    assert days is not None
    if dry_run:
        count = feedback_store.count_older_than(url, timedelta(days=days))
        return f"Answers and feedback: {count} answers are older than {days} days (dry run: nothing deleted)."
    count = feedback_store.sweep(url, timedelta(days=days))
    return f"Answers and feedback: deleted {count} answers older than {days} days."


def _feedback(arguments: argparse.Namespace, environment: Mapping[str, str]) -> int:
    try:
        print(
            run_feedback_delete(arguments.conversation, arguments.older_than, arguments.dry_run, environment)
        )
    except Exception as error:  # noqa: BLE001 (any failure: said, by its kind only)
        print(f"Nothing was deleted from the feedback store: {exception_name(error)}", file=sys.stderr)
        return 1
    return 0


def _days(value: str) -> int:
    try:
        return positive_whole_number(value, "--older-than")
    except SettingError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str], environment: Mapping[str, str] = os.environ) -> int:
    from connectors.endpoints import EndpointSettingError, sql_tracker_store

    parser = argparse.ArgumentParser(
        prog="python -m connectors.conversations",
        description=f"Delete stored conversations, from the database {TRACKER_STORE_VARIABLE} names.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    delete = commands.add_parser("delete", help="delete one conversation, or every one idle for DAYS")
    which = delete.add_mutually_exclusive_group(required=True)
    which.add_argument("--conversation", metavar="ID", help="the conversation id (the sender)")
    which.add_argument("--older-than", metavar="DAYS", type=_days, help="idle for more than DAYS days")
    delete.add_argument("--dry-run", action="store_true", help="say how many would go, delete nothing")
    arguments = parser.parse_args(argv)

    if not environment.get(TRACKER_STORE_VARIABLE):
        print(IN_MEMORY.format(days=RETENTION_DAYS))
        return _feedback(arguments, environment)
    try:
        settings = sql_tracker_store(
            environment[TRACKER_STORE_VARIABLE], environment.get("TRACKER_STORE_LOGIN_DB") or None
        )
        store = open_store(settings)
    except (EndpointSettingError, StoreUnavailable) as error:
        print(f"Nothing was deleted: {error}", file=sys.stderr)
        return 1
    try:
        print(asyncio.run(run_delete(store, arguments.conversation, arguments.older_than, arguments.dry_run)))
    except StoreUnavailable as error:
        print(f"Nothing was deleted: {error}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return _feedback(arguments, environment)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
