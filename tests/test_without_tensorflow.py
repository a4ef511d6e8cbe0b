"""The Rasa server loads and answers with this model without importing TensorFlow, and a model
that does need Rasa's training helpers still gets them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rasa.utils import train_utils

from connectors.without_tensorflow import init_split_entities
from tests.helpers import PROJECT_ROOT
from tests.live_bot import BIN, MODEL, rasa_environment


@pytest.mark.parametrize("config", [True, False, {"treatment": True}, {"trial": False, "outcome": True}, {}])
@pytest.mark.parametrize("default", [True, False])
def test_the_stand_in_splits_entities_as_rasa_does(config: object, default: bool) -> None:
    copy = config.copy() if isinstance(config, dict) else config
    assert init_split_entities(copy, default) == train_utils.init_split_entities(config, default)


def run_python(script: str) -> str:
    """`script` in a fresh server-like interpreter (nothing imported yet); what it prints."""
    finished = subprocess.run(
        [str(BIN / "python"), "-c", script],
        cwd=PROJECT_ROOT,
        env=rasa_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished.stdout


def test_the_server_loads_the_model_and_answers_without_tensorflow() -> None:
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}: run `make train` (make test does it).")
    printed = run_python(
        f"""
import asyncio, sys
import connectors.server
connectors.server.install()
from rasa.core.agent import Agent
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
agent = Agent()
agent.load_model({str(MODEL)!r})
text = "how many relapsed on lemtrada, I have crushing chest pain"
parsed = asyncio.run(agent.parse_message(text))
events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
          UserUttered(text, parsed["intent"], parsed["entities"])]
tracker = DialogueStateTracker.from_events("patient", events, slots=agent.domain.slots)
scores = agent.processor.predict_next_with_tracker(tracker)["scores"]
print("tensorflow" in sys.modules, "keras" in sys.modules)
print(parsed["intent"]["name"], sorted(entity["entity"] for entity in parsed["entities"]))
print(max(scores, key=lambda score: score["score"])["action"])
"""
    )
    imported, understood, action = printed.strip().split("\n")[-3:]
    assert imported == "False False"
    assert understood == "red_flag ['outcome', 'red_flag', 'treatment']"  # every component ran
    assert action == "utter_urgent_help"


def test_anything_else_asked_of_the_training_helpers_imports_the_real_ones() -> None:
    printed = run_python(
        """
import sys
import connectors.server
import rasa.utils.train_utils as helpers
print(type(helpers).__name__, "tensorflow" in sys.modules)
checkpoint = helpers.create_common_callbacks  # a training function: the real module is imported
import rasa.utils.train_utils as again
print(type(sys.modules["rasa.utils.train_utils"]).__name__, "tensorflow" in sys.modules, again is not helpers)
"""
    )
    assert printed.split("\n")[:2] == ["DeferredTrainingHelpers False", "module True True"]


def test_the_stand_in_is_not_installed_once_the_real_helpers_are_imported() -> None:
    from connectors.without_tensorflow import defer_training_helpers

    defer_training_helpers()  # this test process imported Rasa's training helpers above
    assert type(sys.modules["rasa.utils.train_utils"]).__name__ == "module"
