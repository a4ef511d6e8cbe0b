"""Messages in other languages: the assistant understands English only, so a message clearly in
another language gets `not_english` (a reply in English saying so, and how to get urgent help),
by the fixed rule of knowledge/languages.yml. English stays English however it is typed, with
typos, borrowed words, foreign names or drug names; and an English emergency in a message in
two languages still gets the urgent-help reply."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from safety.language import LANGUAGES_FILE, LanguageCheck, LanguageFileError, looks_english
from safety.nlu_component import RedFlagDetector
from safety.red_flags import RedFlagChecker
from tests.helpers import PROJECT_ROOT
from tests.stories import plain_text, test_conversations

detector = RedFlagDetector(RedFlagChecker.from_file(), LanguageCheck.from_file())
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


def understood(text: str, intent: str = "nlu_fallback", confidence: float = 0.3) -> Message:
    """The message after the component, the model having predicted `intent`."""
    message = Message(data={TEXT: text, INTENT: {"name": intent, "confidence": confidence}, ENTITIES: []})
    [processed] = detector.process([message])
    return processed


@pytest.mark.parametrize(
    "text",
    [
        "tengo un dolor muy fuerte en el pecho",  # an emergency, in Spanish
        "¿Cuáles son los efectos secundarios de Lemtrada?",
        "j'ai mal à la poitrine",
        "Was sind die Nebenwirkungen von Lemtrada?",
        "ho un forte dolore al petto",
        "eu tenho dor no peito",
        "ik heb pijn in mijn borst",
        "boli mnie w klatce piersiowej",
        "göğsüm çok ağrıyor",
        "у меня болит грудь",
        "我胸口很痛",
        "Lemtrada 有什么副作用",
        "أشعر بألم في صدري",
        "मेरे सीने में दर्द है",
        "Πονάει το στήθος μου",
    ],
)
def test_a_message_in_another_language_gets_not_english(text: str) -> None:
    assert not looks_english(text)
    assert understood(text, "ask_relapse", 0.95).get(INTENT) == {"name": "not_english", "confidence": 1.0}


@pytest.mark.parametrize(
    "text",
    [
        "what r the side efects of lemtrada",  # typos and text-speak
        "wat is alemtuzumab",
        "um how meny ppl relapsd on rebif",
        "how many people relapse on lemtrada comma and what about the infusion",  # voice-typed
        "I feel malaise since the drip",  # borrowed words
        "my neuro said ciao and told me to ask you",
        "thanks, merci",
        "merci for the help",
        "my neurologist Dr de la Cruz said to ask about relapses",  # people's names
        "Dr van der Berg told me about alemtuzumab",
        "my friend Иван Иванов told me about lemtrada",
        "ocrelizumab vs alemtuzumab",  # drug names
        "is campath the same as lemtrada",
        "is lemtrada approved in the eu",
        "what does EDSS mean",
        "5 µg dose",
    ],
)
def test_english_however_it_is_typed_is_never_called_foreign(text: str) -> None:
    assert looks_english(text)
    assert understood(text, "ask_relapse", 0.9).get(INTENT) == {"name": "ask_relapse", "confidence": 0.9}


def english_messages() -> list[str]:
    """Every English message the project has: training data, the held-out set, both safety
    phrasing files and the test conversations."""
    examples = [
        e
        for folder in (PROJECT_ROOT / "data", PROJECT_ROOT / "tests" / "nlu")
        for path in sorted(folder.glob("*.yml"))
        if "nlu:" in path.read_text()
        for e in load_data(str(path)).intent_examples
    ]
    found = [e.get("text") for e in examples if e.get("intent") != "not_english"]
    for name in ("safety_phrasings.yml", "safety_phrasings_holdout.yml"):
        document = yaml.safe_load((PROJECT_ROOT / "tests" / name).read_text())
        found += [e["text"] for e in document["emergencies"]] + document["harmless"]
    found += [
        plain_text(step["user"])
        for steps in test_conversations().values()
        for step in steps
        if "user" in step and step.get("intent") != "not_english"
    ]
    return found


def test_no_english_message_of_the_project_is_called_foreign() -> None:
    messages = english_messages()
    assert len(messages) > 1000
    assert [text for text in messages if not looks_english(text)] == []


def test_every_not_english_example_the_model_learns_or_is_tested_on_is_what_the_rule_says() -> None:
    """The model learns `not_english` from these, and the held-out set tests it; the rule must
    agree, or the model would learn what the assistant never does."""
    examples = [
        e.get("text")
        for path in (
            PROJECT_ROOT / "data" / "nlu_safety.yml",
            PROJECT_ROOT / "tests" / "nlu" / "languages.yml",
        )
        for e in load_data(str(path)).intent_examples
        if e.get("intent") == "not_english"
    ]
    assert len(examples) >= 30
    assert [text for text in examples if looks_english(text)] == []


@pytest.mark.parametrize(
    "text, kind",
    [
        ("tengo miedo y estoy sola en casa, my chest hurts right now", "chest_pain"),
        ("ayuda por favor, i can't breathe", "breathing"),
        ("je ne sais pas quoi faire avec ma vie, i want to kill myself", "self_harm"),
    ],
)
def test_an_english_emergency_in_a_message_in_two_languages_gets_the_urgent_reply(
    text: str, kind: str
) -> None:
    processed = understood(text)
    assert processed.get(INTENT) == {"name": "red_flag", "confidence": 1.0}
    assert [e["value"] for e in processed.get(ENTITIES)] == [kind]


@pytest.mark.parametrize("confidence", [0.7, 0.99])
def test_a_learned_not_english_no_rule_confirms_goes_to_the_fallback(confidence: float) -> None:
    """An English question the model mistook for another language must not be refused."""
    processed = understood("how many relapsed on the drip", "not_english", confidence)
    assert processed.get(INTENT)["name"] == "nlu_fallback"


def test_the_reply_says_in_english_that_only_english_is_understood_and_how_to_get_urgent_help() -> None:
    [reply] = DOMAIN["responses"]["utter_english_only"]
    assert "English" in reply["text"]
    assert reply["text"].endswith("If you need urgent help, please {emergency_contact} now.")
    rules = yaml.safe_load((PROJECT_ROOT / "data" / "rules.yml").read_text())["rules"]
    assert {"steps": [{"intent": "not_english"}, {"action": "utter_english_only"}]} in [
        {"steps": rule["steps"]} for rule in rules
    ]


def test_a_word_yaml_reads_as_true_or_false_is_refused(tmp_path: Path) -> None:
    """Unquoted, YAML reads "no" as false: the word would silently be lost from the list."""
    broken = tmp_path / "languages.yml"
    english = LANGUAGES_FILE.read_text()
    assert 'my, "no",' in english
    broken.write_text(english.replace('my, "no",', "my, no,"))
    with pytest.raises(LanguageFileError, match=r"english: False is not a word: put it in quotes"):
        LanguageCheck.from_file(broken)


def test_a_missing_languages_file_stops_the_check_from_loading(tmp_path: Path) -> None:
    with pytest.raises(LanguageFileError, match="cannot be read"):
        LanguageCheck.from_file(tmp_path / "missing.yml")
