"""Red flags: every message describing a possible emergency is escalated, by fixed rules that
run on every message; ordinary questions that mention symptoms are not.

Both phrasing files were written by someone who had not seen the rules. `safety_phrasings.yml`
was used to build them. `safety_phrasings_holdout.yml` was first measured untouched (42 of 48
emergencies escalated, 3 of 48 harmless questions escalated) and then used to improve the rules,
so both are now tuning sets; a fresh set is the honest test of a change. One missed emergency
fails the suite. Both rates are printed at the end of the run.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from safety.nlu_component import RedFlagDetector
from safety.red_flags import Alarm, RedFlagChecker, RedFlagFileError, urgent_reply_kind
from tests.helpers import PROJECT_ROOT

PHRASING_FILES = [
    PROJECT_ROOT / "tests" / name for name in ("safety_phrasings.yml", "safety_phrasings_holdout.yml")
]
PHRASINGS = [(path.stem, yaml.safe_load(path.read_text())) for path in PHRASING_FILES if path.exists()]
EMERGENCIES = [(name, e["kind"], e["text"]) for name, d in PHRASINGS for e in d["emergencies"]]
HARMLESS = [(name, text) for name, d in PHRASINGS for text in d["harmless"]]
RATES_FILE = PROJECT_ROOT / "results" / "safety" / "red-flag-rates.json"

checker = RedFlagChecker.from_file()


def test_the_red_flag_check_runs_last_in_the_pipeline_after_every_classifier() -> None:
    """Last, so nothing after it can undo an escalation: not the fallback, not a classifier."""
    pipeline = [
        step["name"] for step in yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["pipeline"]
    ]
    assert pipeline[-1] == "safety.nlu_component.RedFlagDetector"
    assert pipeline.count(pipeline[-1]) == 1
    assert "FallbackClassifier" in pipeline


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


def test_a_file_without_the_self_harm_flag_stops_the_check_from_loading(tmp_path: Path) -> None:
    """Renamed, self-harm would silently lose its own wording."""
    renamed = tmp_path / "red_flags.yml"
    renamed.write_text(
        (PROJECT_ROOT / "knowledge" / "red_flags.yml")
        .read_text()
        .replace("key: self_harm", "key: suicide", 1)
    )
    with pytest.raises(RedFlagFileError, match="needs the red flag 'self_harm'"):
        RedFlagChecker.from_file(renamed)


def test_a_missing_file_stops_the_check_from_loading(tmp_path: Path) -> None:
    with pytest.raises(RedFlagFileError, match="cannot be read"):
        RedFlagChecker.from_file(tmp_path / "missing.yml")


@pytest.mark.parametrize("confidence", [0.58, 0.91, 0.99])
def test_a_learned_red_flag_no_rule_confirms_never_raises_the_alarm_alone(confidence: float) -> None:
    """The model scored nonsense ("blah purple monkey") 0.91 as an emergency."""
    [processed] = RedFlagDetector(checker).process([message("blah purple monkey", "red_flag", confidence)])
    assert processed.get(INTENT)["name"] == "nlu_fallback"


# ---- a message raising several red flags -------------------------------------------------------

THE_ISSUE_S_MESSAGE = "I want to kill myself, my chest hurts so badly right now"
CONTACT = "call 999"


def flags_raised(text: str) -> list[tuple[str, str]]:
    """(flag, the words that raised it, as typed) for every flag the message raises, in order."""
    return [(alarm.flag.key, text[alarm.start : alarm.end]) for alarm in checker.check_all(text)]


def test_self_harm_with_chest_pain_raises_both_flags_self_harm_first() -> None:
    """Finding 9: only the first flag was answered, so this got the physical wording alone."""
    assert flags_raised(THE_ISSUE_S_MESSAGE) == [("self_harm", "kill myself"), ("chest_pain", "chest hurts")]
    assert urgent_reply_kind(checker.check_all(THE_ISSUE_S_MESSAGE)) == "self_harm_and_physical"


@pytest.mark.parametrize(
    "text, raised",
    [
        (
            "my chest is so tight, i just want to die",
            [("self_harm", "want to die"), ("chest_pain", "chest is so tight")],
        ),
        (
            "my lips are swelling and i cant breathe",
            [("swelling", "lips are swelling"), ("breathing", "cant breathe")],
        ),
    ],
)
def test_self_harm_comes_first_and_the_other_flags_in_the_order_written(
    text: str, raised: list[tuple[str, str]]
) -> None:
    assert flags_raised(text) == raised


@pytest.mark.parametrize(
    "raised, kind",
    [
        ([], None),
        (["self_harm"], "self_harm"),
        (["chest_pain"], "chest_pain"),
        (["stroke", "chest_pain"], "stroke"),
        (["self_harm", "chest_pain"], "self_harm_and_physical"),
        (["self_harm", "breathing", "bleeding"], "self_harm_and_physical"),
    ],
)
def test_which_urgent_reply_fits_the_flags_raised(raised: list[str], kind: str | None) -> None:
    """The one place the gate in front of Rasa and the assistant both take the `red_flag` slot
    value from; anything but the two self-harm values gets the default wording."""
    flags = {flag.key: flag for flag in checker.flags}
    assert urgent_reply_kind([Alarm(flags[key], 0, 1) for key in raised]) == kind


def test_the_nlu_component_adds_a_red_flag_entity_for_each_flag_and_the_reply_that_fits_them() -> None:
    [processed] = RedFlagDetector(checker).process([message(THE_ISSUE_S_MESSAGE, "ask_relapse", 0.7)])
    assert processed.get(INTENT) == {"name": "red_flag", "confidence": 1.0}
    assert [
        (e["entity"], e["value"], THE_ISSUE_S_MESSAGE[e["start"] : e["end"]]) for e in processed.get(ENTITIES)
    ] == [
        ("red_flag", "self_harm", "kill myself"),
        ("red_flag", "chest_pain", "chest hurts"),
        ("urgent_reply", "self_harm_and_physical", "kill myself, my chest hurts"),
    ]


@cache
def rasa_domain() -> Any:
    """domain.yml as Rasa loads it (Rasa warns on every load that slot auto-fill is gone)."""
    from rasa.shared.core.domain import Domain

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Slot auto-fill has been removed")
        return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def responses_as_the_server_fills_them(domain: Any) -> Any:
    """The Rasa server's response generator, filling in CONTACT as the emergency number."""
    from connectors.responses import ServerResponses

    with pytest.MonkeyPatch.context() as patched:
        patched.setenv("EMERGENCY_CONTACT", CONTACT)
        return ServerResponses(domain=domain)


def urgent_reply_as_rasa_gives_it(text: str) -> tuple[Any, str]:
    """(the `red_flag` slot, the text of `utter_urgent_help`) for a message, as Rasa would fill
    the slot from the component's entities (domain.yml's mappings) and render the response."""
    from rasa.core.actions.action import ActionExtractSlots
    from rasa.core.channels import CollectingOutputChannel
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = rasa_domain()
    nlg = responses_as_the_server_fills_them(domain)
    [parsed] = RedFlagDetector(checker).process([message(text, "ask_relapse", 0.7)])
    tracker = DialogueStateTracker.from_events(
        "test-patient",
        [UserUttered(text, parsed.get(INTENT), parsed.get(ENTITIES))],
        slots=domain.slots,
    )
    filled = asyncio.run(ActionExtractSlots(None).run(CollectingOutputChannel(), nlg, tracker, domain))
    tracker.update_with_events(filled, domain)
    reply = asyncio.run(nlg.generate("utter_urgent_help", tracker, "socketio"))
    return tracker.get_slot("red_flag"), reply["text"]


def urgent_wording(condition: str | None) -> str:
    """A wording of `utter_urgent_help` as written in domain.yml, with CONTACT filled in."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    wanted = None if condition is None else [{"type": "slot", "name": "red_flag", "value": condition}]
    [text] = [v["text"] for v in domain["responses"]["utter_urgent_help"] if v.get("condition") == wanted]
    return text.replace("{emergency_contact}", CONTACT)


def first_sentence(text: str) -> str:
    return text.split(". ")[0] + "."


def test_self_harm_with_a_physical_emergency_gets_one_reply_self_harm_words_first() -> None:
    slot, reply = urgent_reply_as_rasa_gives_it(THE_ISSUE_S_MESSAGE)
    self_harm, physical = first_sentence(urgent_wording("self_harm")), first_sentence(urgent_wording(None))
    assert slot == "self_harm_and_physical"
    assert (
        reply.startswith(self_harm) and physical in reply and reply.index(self_harm) < reply.index(physical)
    )
    assert f"Please {CONTACT} now" in reply


@pytest.mark.parametrize(
    "text, wording",
    [
        (THE_ISSUE_S_MESSAGE, "self_harm_and_physical"),
        ("i want to die", "self_harm"),
        ("my chest hurts", None),
        ("my lips are swelling and i cant breathe", None),
    ],
)
def test_the_gate_and_the_assistant_give_the_same_urgent_reply(text: str, wording: str | None) -> None:
    """The gate that answers when Rasa is down renders `utter_urgent_help` with the slot value
    `urgent_reply_kind(check_all(text))`; the assistant gets its slot from the component's
    entities. Both must pick the same wording."""
    nlg = responses_as_the_server_fills_them(rasa_domain())
    kind = urgent_reply_kind(checker.check_all(text))
    gate = nlg.generate_from_slots("utter_urgent_help", {"red_flag": kind}, "")
    slot, assistant = urgent_reply_as_rasa_gives_it(text)
    assert slot == kind and gate["text"] == assistant == urgent_wording(wording)


# ---- oddly encoded messages --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, kind, typed",
    [
        ("ｍｙ ｃｈｅｓｔ ｈｕｒｔｓ ｒｉｇｈｔ ｎｏｗ", "chest_pain", "ｃｈｅｓｔ ｈｕｒｔｓ"),  # fullwidth
        (
            "my ch\u200best hu\u200crts",
            "chest_pain",
            "ch\u200best hu\u200crts",
        ),  # zero-width space, non-joiner
        ("i want to kill my\u200dself", "self_harm", "kill my\u200dself"),  # zero-width joiner
        ("i can\u2060t bre\u00adathe", "breathing", "can\u2060t bre\u00adathe"),  # word joiner, soft hyphen
        ("\ufeffi feel sui\u00adcidal", "self_harm", "sui\u00adcidal"),  # byte-order mark, soft hyphen
        ("i can\u02bct breathe", "breathing", "can\u02bct breathe"),  # modifier-letter apostrophe
        ("𝐦𝐲 𝐜𝐡𝐞𝐬𝐭 𝐡𝐮𝐫𝐭𝐬", "chest_pain", "𝐜𝐡𝐞𝐬𝐭 𝐡𝐮𝐫𝐭𝐬"),  # mathematical bold
        ("MY CHE\u0301ST HU\u0308RTS", "chest_pain", "CHE\u0301ST HU\u0308RTS"),  # accents typed as marks
        ("my face is droo\u0301py", "stroke", "face is droo\u0301py"),  # a mark at the end of the word
    ],
)
def test_an_oddly_encoded_emergency_is_escalated_and_found_where_it_was_typed(
    text: str, kind: str, typed: str
) -> None:
    """Phones and "fancy text" sites send other characters that look the same; the entity's
    offsets must still point at the words in the message as typed."""
    assert flags_raised(text) == [(kind, typed)]
    [processed] = RedFlagDetector(checker).process([message(text, "ask_relapse", 0.9)])
    [entity] = processed.get(ENTITIES)
    assert (entity["value"], text[entity["start"] : entity["end"]]) == (kind, typed)


# ---- everyday ways of saying chest pain ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "my chest is killing me",
        "my chest is on fire",
        "feels like an elephant on my chest",
        "my heart is pounding and my chest is on fire",
        "it feels like someone is standing on my chest",
        "there's a band around my chest",
        "stabbing in my chest when i breathe in",
        "my chest is in agony",
        "my chest feels like it's going to explode",
        "my heart hurts so much",
    ],
)
def test_everyday_ways_of_saying_chest_pain_are_escalated(text: str) -> None:
    assert [kind for kind, _ in flags_raised(text)] == ["chest_pain"]


@pytest.mark.parametrize(
    "text",
    [
        "does alemtuzumab affect the heart?",
        "is heartburn a side effect of lemtrada",
        "how does alemtuzumab kill the immune cells",
        "can the infusion make your heart race",
        "were there heart problems in the trial",
        "in the trial did anyone say it felt like an elephant sitting on their chest",
        "my chest x-ray last year was clear",
        "my heart sank when i read the results",
        "my chest x-ray was clear and my heart is fine",
    ],
)
def test_questions_and_remarks_near_those_words_are_not_escalated(text: str) -> None:
    assert flags_raised(text) == []
