"""What the Rasa server sends the action server with each custom action: only what it reads.

Rasa 3.6 sends, with every call, the whole conversation (every event since it began, each
message with its full parse and intent ranking) and the whole domain. The project's actions read
the slots, the latest message and the channel it came by, nothing else (a test holds them to
that: `tests/test_action_calls.py`). So here a call carries the tracker's state with only this
turn's events, from the patient's latest message on, and no domain. That is less to write and to
read on both sides at every turn, and less of what a patient wrote on the wire.

`connectors.processor.FailSafeRemoteAction` is built on this class.
"""

from __future__ import annotations

from typing import Any, Dict, List

import rasa
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity


def this_turn(tracker: DialogueStateTracker) -> List[Event]:
    """The events from the patient's latest message on (all of them before the first message)."""
    events = list(tracker.events)
    for position in range(len(events) - 1, -1, -1):
        if isinstance(events[position], UserUttered):
            return events[position:]
    return events


class ThisTurnOnly(RemoteAction):
    """A custom action whose call carries the state and this turn's events, not the history."""

    def _action_call_format(self, tracker: DialogueStateTracker, domain: Domain) -> Dict[str, Any]:
        state = tracker.current_state(EventVerbosity.NONE)
        state["events"] = [event.as_dict() for event in this_turn(tracker)]
        return {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": state,
            "version": rasa.__version__,
        }
