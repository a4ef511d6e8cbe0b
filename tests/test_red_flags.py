"""Red flags: every message describing a possible emergency is escalated, by fixed rules that
run on every message; ordinary questions that mention symptoms are not.

Both phrasing files were written by someone who had not seen the rules. `safety_phrasings.yml`
was used to build them. `safety_phrasings_holdout.yml` was first measured untouched (42 of 48
emergencies escalated, 3 of 48 harmless questions escalated) and then used to improve the rules,
so both are now tuning sets; a fresh set is the honest test of a change. One missed emergency
fails the suite. Both rates are printed at the end of the run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from safety.nlu_component import RedFlagDetector
from safety.red_flags import RedFlagChecker, RedFlagFileError
from tests.helpers import PROJECT_ROOT

PHRASING_FILES = [
    PROJECT_ROOT / "tests" / name for name in ("safety_phrasings.yml", "safety_phrasings_holdout.yml")
]
PHRASINGS = [(path.stem, yaml.safe_load(path.read_text())) for path in PHRASING_FILES if path.exists()]
EMERGENCIES = [(name, e["kind"], e["text"]) for name, d in PHRASINGS for e in d["emergencies"]]
HARMLESS = [(name, text) for name, d in PHRASINGS for text in d["harmless"]]
RATES_FILE = PROJECT_ROOT / "results" / "safety" / "red-flag-rates.json"

checker = RedFlagChecker.from_file()


def test_there_are_at_least_40_of_each_kind_of_phrasing() -> None:
    assert len(EMERGENCIES) >= 40 and len(HARMLESS) >= 40
    assert {kind for _, kind, _ in EMERGENCIES} == {flag.key for flag in checker.flags}


@pytest.mark.parametrize("source, kind, text", EMERGENCIES)
def test_an_emergency_is_escalated(source: str, kind: str, text: str) -> None:
    assert checker.check(text) is not None, f"missed {kind}: {text!r}"


@pytest.mark.parametrize("source, text", HARMLESS)
def test_an_ordinary_question_mentioning_a_symptom_is_not_escalated(source: str, text: str) -> None:
    alarm = checker.check(text)
    assert alarm is None, f"{alarm.flag.key} raised by {text[alarm.start : alarm.end]!r}"


def held_out_nlu_messages() -> list[tuple[str, str]]:
    """(intent, text) for every message of the held-out NLU set in tests/nlu/, as typed."""
    from rasa.shared.nlu.training_data.loading import load_data

    return [
        (e.get("intent"), e.get("text"))
        for e in load_data(str(PROJECT_ROOT / "tests" / "nlu")).intent_examples
    ]


@pytest.mark.parametrize("text", [text for intent, text in held_out_nlu_messages() if intent == "red_flag"])
def test_every_emergency_in_the_held_out_nlu_set_is_escalated_by_the_rules_alone(text: str) -> None:
    """Not left to the model: three of these (a face that "slipped", "too many of my pills on
    purpose", "can't go on living... how i would do it") were missed by the rules until a
    benchmark run showed the model sending them to ordinary answers."""
    assert checker.check(text) is not None, f"missed: {text!r}"


def test_no_other_held_out_nlu_message_raises_the_alarm() -> None:
    raised = [
        (intent, text, alarm.flag.key)
        for intent, text in held_out_nlu_messages()
        if intent != "red_flag" and (alarm := checker.check(text)) is not None
    ]
    assert raised == []


def test_the_rates_are_recorded() -> None:
    """Writes both rates for the run's summary: the share of emergencies escalated, and of
    harmless questions escalated, for each phrasing file."""
    rates = {}
    for name, document in PHRASINGS:
        emergencies = [e["text"] for e in document["emergencies"]]
        harmless = document["harmless"]
        rates[name] = {
            "emergencies_escalated": sum(checker.check(t) is not None for t in emergencies),
            "emergencies": len(emergencies),
            "harmless_escalated": sum(checker.check(t) is not None for t in harmless),
            "harmless": len(harmless),
        }
    RATES_FILE.parent.mkdir(parents=True, exist_ok=True)
    RATES_FILE.write_text(json.dumps(rates, indent=2))
    assert all(r["emergencies_escalated"] == r["emergencies"] for r in rates.values())


def test_the_red_flag_is_found_where_it_is_written() -> None:
    text = "How many relapsed on Lemtrada? Also my lips are swelling up."
    alarm = checker.check(text)
    assert alarm.flag.key == "swelling" and text[alarm.start : alarm.end] == "lips are swelling"


def message(text: str, intent: str, confidence: float) -> Message:
    return Message(data={TEXT: text, INTENT: {"name": intent, "confidence": confidence}, ENTITIES: []})


@pytest.mark.parametrize("predicted", [("ask_relapse", 0.99), ("nlu_fallback", 0.2)])
def test_the_nlu_component_overrides_whatever_the_model_predicted(predicted: tuple[str, float]) -> None:
    detector = RedFlagDetector(checker)
    [processed] = detector.process([message("how many relapsed? i can't breathe", *predicted)])
    assert processed.get(INTENT) == {"name": "red_flag", "confidence": 1.0}
    assert [(e["entity"], e["value"]) for e in processed.get(ENTITIES)] == [("red_flag", "breathing")]


def test_the_nlu_component_leaves_other_messages_alone() -> None:
    [processed] = RedFlagDetector(checker).process(
        [message("how common were headaches?", "ask_infusion_reactions", 0.9)]
    )
    assert processed.get(INTENT)["name"] == "ask_infusion_reactions" and processed.get(ENTITIES) == []


def test_a_broken_pattern_stops_the_check_from_loading(tmp_path: Path) -> None:
    broken = tmp_path / "red_flags.yml"
    broken.write_text(
        (PROJECT_ROOT / "knowledge" / "red_flags.yml")
        .read_text()
        .replace("heart\\s+attack", "heart(attack", 1)
    )
    with pytest.raises(
        RedFlagFileError,
        match=r"red_flags.yml: red flag 'chest_pain': pattern 'heart\(attack' does not compile",
    ):
        RedFlagChecker.from_file(broken)


def test_a_missing_file_stops_the_check_from_loading(tmp_path: Path) -> None:
    with pytest.raises(RedFlagFileError, match="cannot be read"):
        RedFlagChecker.from_file(tmp_path / "missing.yml")


@pytest.mark.parametrize("confidence", [0.58, 0.91, 0.99])
def test_a_learned_red_flag_no_rule_confirms_never_raises_the_alarm_alone(confidence: float) -> None:
    """The model scored nonsense ("blah purple monkey") 0.91 as an emergency."""
    [processed] = RedFlagDetector(checker).process([message("blah purple monkey", "red_flag", confidence)])
    assert processed.get(INTENT)["name"] == "nlu_fallback"
