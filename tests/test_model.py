"""The trained model, checked with Rasa's own tools: the training data validates with no
warnings, the test conversations pass `rasa test`, and intents are recognised in held-out
messages written as patients write (never seen in training)."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest
import yaml
from rasa.shared.data import is_nlu_file
from rasa.shared.nlu.training_data.loading import load_data

from tests.helpers import PROJECT_ROOT
from tests.live_bot import BIN, MODEL, rasa_environment
from tests.stories import test_conversations

RESULTS = PROJECT_ROOT / "results"
HELD_OUT = PROJECT_ROOT / "tests" / "nlu"  # patients' questions, and safety-related messages
MINIMUM_INTENT_ACCURACY = 0.90
# A clear question is answered, not met with "did you mean?": at most this share of the held-out
# messages gets the fallback (13 of 325 at the 0.4 threshold, 9 at 0.3: see config.yml).
MOST_FALLBACKS = 0.03
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


def rasa(*arguments: str) -> subprocess.CompletedProcess:
    if not MODEL.exists() and arguments[0] == "test":
        pytest.fail(f"No trained model at {MODEL}: run `make train` (make test does it).")
    return subprocess.run(
        [str(BIN / "rasa"), *arguments],
        cwd=PROJECT_ROOT,
        env=rasa_environment(),
        capture_output=True,
        text=True,
        timeout=1200,
    )


def training_messages() -> set[str]:
    files = [path for path in sorted((PROJECT_ROOT / "data").glob("*.yml")) if is_nlu_file(str(path))]
    assert files, "no NLU training files in data/"
    return {e.get("text").casefold().strip() for path in files for e in load_data(str(path)).intent_examples}


def held_out_examples() -> list:
    return load_data(str(HELD_OUT)).intent_examples


def test_the_training_data_validates_with_no_warnings() -> None:
    run = rasa("data", "validate", "--fail-on-warnings", "--domain", "domain.yml", "--data", "data")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "UserWarning" not in output, output[-4000:]


def test_the_held_out_set_is_big_enough_and_covers_every_intent() -> None:
    examples = held_out_examples()
    assert len(examples) >= 150
    assert {example.get("intent") for example in examples} == set(DOMAIN["intents"])


def test_no_held_out_message_is_in_the_training_data() -> None:
    seen = training_messages()
    leaked = [e.get("text") for e in held_out_examples() if e.get("text").casefold().strip() in seen]
    assert leaked == []


@pytest.fixture(scope="module")
def intent_report() -> dict:
    out = RESULTS / "nlu"
    run = rasa("test", "nlu", "--model", str(MODEL), "--nlu", str(HELD_OUT), "--out", str(out))
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    return json.loads((out / "intent_report.json").read_text())


def test_intents_are_recognised_in_at_least_90_percent_of_held_out_messages(intent_report: dict) -> None:
    accuracy = intent_report["accuracy"]
    worst = sorted(
        (scores["f1-score"], intent)
        for intent, scores in intent_report.items()
        if isinstance(scores, dict) and "f1-score" in scores and intent in DOMAIN["intents"]
    )[:3]
    print(f"held-out intent accuracy {accuracy:.3f}; weakest intents (F1): {worst}")
    assert accuracy >= MINIMUM_INTENT_ACCURACY, f"accuracy {accuracy:.3f}; weakest: {worst}"
    assert (RESULTS / "nlu" / "intent_report.json").exists()


def test_few_held_out_messages_are_met_with_did_you_mean() -> None:
    # Parsed by the model itself: `rasa test nlu` scores a fallback as the intent ranked next.
    from rasa.core.agent import Agent

    agent = Agent.load(str(MODEL))
    texts = [example.get("text") for example in held_out_examples()]

    async def parse_all() -> list[dict]:
        return [await agent.parse_message(text) for text in texts]

    asked_back = [
        parsed["text"] for parsed in asyncio.run(parse_all()) if parsed["intent"]["name"] == "nlu_fallback"
    ]
    assert len(asked_back) <= MOST_FALLBACKS * len(texts), asked_back


def test_the_test_conversations_pass_rasa_test() -> None:
    out = RESULTS / "core"
    run = rasa(
        "test", "core", "--model", str(MODEL), "--stories", "tests/test_stories.yml", "--out", str(out)
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    failed = (out / "failed_test_stories.yml").read_text()
    assert "- story:" not in failed, failed


def test_the_test_conversations_cover_every_intent_and_at_least_five_follow_ups() -> None:
    steps = [step for conversation in test_conversations().values() for step in conversation]
    intents = {step["intent"] for step in steps if "intent" in step}
    assert intents == set(DOMAIN["intents"])
    assert sum(step.get("intent") == "inform_treatment" for step in steps) >= 5
