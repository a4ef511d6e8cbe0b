"""The intent classifier (nlu/intent_classifier.py): it learns intents from a few examples,
ranks them, survives a save and a load unchanged, and loads without running code from the file.
The whole model's quality is checked on held-out messages in tests/test_model.py."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.intent_classifier import VOCABULARY_FILE, WEIGHTS_FILE, Scorer, TfidfIntentClassifier

EXAMPLES = {
    "ask_relapse": ["how many people relapsed", "did anyone have a relapse", "relapses on lemtrada"],
    "ask_side_effects": ["what are the side effects", "is it safe", "side effects of the drip"],
    "greet": ["hello", "hi there", "good morning"],
}


def training_data() -> TrainingData:
    return TrainingData(
        [Message(data={TEXT: text, INTENT: intent}) for intent, texts in EXAMPLES.items() for text in texts]
    )


def new_classifier(
    tmp_path: Path, config: dict | None = None
) -> tuple[TfidfIntentClassifier, LocalModelStorage]:
    (tmp_path / "storage").mkdir()
    storage = LocalModelStorage(tmp_path / "storage")
    context = ExecutionContext(GraphSchema({}), "test")
    classifier = TfidfIntentClassifier.create(
        {**TfidfIntentClassifier.get_default_config(), **(config or {})},
        storage,
        Resource("intents"),
        context,
    )
    return classifier, storage


def classify(classifier: TfidfIntentClassifier, *texts: str) -> list[Message]:
    return classifier.process([Message(data={TEXT: text}) for text in texts])


def test_it_recognises_a_misspelt_question_it_never_saw(tmp_path: Path) -> None:
    classifier, _ = new_classifier(tmp_path)
    classifier.train(training_data())
    message = classify(classifier, "how many peple relapsd")[0]
    assert message.get(INTENT)["name"] == "ask_relapse"


def test_the_ranking_holds_every_intent_best_first_and_sums_to_one(tmp_path: Path) -> None:
    classifier, _ = new_classifier(tmp_path)
    classifier.train(training_data())
    message = classify(classifier, "what are the side effects")[0]
    ranking = message.get(INTENT_RANKING_KEY)
    assert [r["name"] for r in ranking][0] == "ask_side_effects" == message.get(INTENT)["name"]
    assert {r["name"] for r in ranking} == set(EXAMPLES)
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) == pytest.approx(1.0)


def test_the_ranking_length_is_respected(tmp_path: Path) -> None:
    classifier, _ = new_classifier(tmp_path, {"ranking_length": 2})
    classifier.train(training_data())
    assert len(classify(classifier, "hello")[0].get(INTENT_RANKING_KEY)) == 2


def test_an_empty_message_gets_an_intent_and_no_error(tmp_path: Path) -> None:
    classifier, _ = new_classifier(tmp_path)
    classifier.train(training_data())
    assert classify(classifier, "")[0].get(INTENT)["name"] in EXAMPLES


def test_a_loaded_classifier_gives_the_same_confidences_as_the_trained_one(tmp_path: Path) -> None:
    classifier, storage = new_classifier(tmp_path)
    resource = classifier.train(training_data())
    loaded = TfidfIntentClassifier.load(
        TfidfIntentClassifier.get_default_config(),
        storage,
        resource,
        ExecutionContext(GraphSchema({}), "test"),
    )
    texts = ["how many relapsed on lemtrada", "hiya", "is the drip safe?", "xyzzy"]
    before = [m.get(INTENT_RANKING_KEY) for m in classify(classifier, *texts)]
    after = [m.get(INTENT_RANKING_KEY) for m in classify(loaded, *texts)]
    for trained_ranking, loaded_ranking in zip(before, after, strict=True):
        assert [r["name"] for r in trained_ranking] == [r["name"] for r in loaded_ranking]
        assert np.allclose(
            [r["confidence"] for r in trained_ranking], [r["confidence"] for r in loaded_ranking]
        )


def test_the_saved_model_is_plain_data_with_no_pickle(tmp_path: Path) -> None:
    classifier, storage = new_classifier(tmp_path)
    resource = classifier.train(training_data())
    with storage.read_from(resource) as directory:
        assert sorted(p.name for p in directory.iterdir()) == sorted([VOCABULARY_FILE, WEIGHTS_FILE])
        with zipfile.ZipFile(directory / WEIGHTS_FILE) as archive:
            for name in archive.namelist():  # a pickled object array would fail to load here
                np.load(archive.open(name), allow_pickle=False)


def test_with_fewer_than_two_intents_it_trains_nothing_and_sets_no_intent(tmp_path: Path) -> None:
    classifier, storage = new_classifier(tmp_path)
    resource = classifier.train(TrainingData([Message(data={TEXT: "hello", INTENT: "greet"})]))
    assert classify(classifier, "hello")[0].get(INTENT) is None
    loaded = TfidfIntentClassifier.load({}, storage, resource, ExecutionContext(GraphSchema({}), "test"))
    assert classify(loaded, "hello")[0].get(INTENT) is None


def test_the_question_in_a_long_message_decides_its_intent(tmp_path: Path) -> None:
    classifier, _ = new_classifier(tmp_path)
    classifier.train(training_data())
    story = (
        "Hello there, good morning. My wife was diagnosed last year and hello from both of us. "
        "She is starting the drip soon. Good morning again. What are the side effects?"
    )
    assert classify(classifier, story)[0].get(INTENT)["name"] == "ask_side_effects"
    # A short message is classified whole, as before.
    assert classify(classifier, "hello, side effects")[0].get(INTENT)["name"] in EXAMPLES


def test_a_story_sentence_then_a_question_is_classified_by_its_question(tmp_path: Path) -> None:
    """Two sentences are enough to tell a story first: "Mum has been on Betaferon for years and
    still relapsed. In the trial for people like her, how many ...?" """
    classifier, _ = new_classifier(tmp_path)
    classifier.train(training_data())
    story = "Hello there good morning, hello and hi there. What are the side effects of the drip?"
    parsed = classify(classifier, story)[0]
    assert parsed.get(INTENT)["name"] == "ask_side_effects"
    assert story[parsed.get("question")["start"] :] == "What are the side effects of the drip?"


def test_a_long_message_says_where_its_question_is(tmp_path: Path) -> None:
    classifier, _ = new_classifier(tmp_path)
    classifier.train(training_data())
    story = "Hello there. My wife says hi. Good morning to you. What are the side effects?"
    span = classify(classifier, story)[0].get("question")
    assert story[span["start"] : span["end"]] == "What are the side effects?"
    assert classify(classifier, "what are the side effects")[0].get("question") is None


def test_a_second_question_in_one_message_is_reported_in_the_order_written(tmp_path: Path) -> None:
    classifier, _ = new_classifier(tmp_path)
    classifier.train(training_data())
    message = classify(classifier, "how many people relapsed and what are the side effects of the drip?")[0]
    assert message.get(INTENT)["name"] in ("ask_relapse", "ask_side_effects")
    also = message.get("also_asked")
    assert [entry["intent"] for entry in also] == [
        {"ask_relapse": "ask_side_effects", "ask_side_effects": "ask_relapse"}[message.get(INTENT)["name"]]
    ]
    assert classify(classifier, "how many people relapsed on lemtrada")[0].get("also_asked") is None


def test_two_questions_are_answered_in_the_order_written_whatever_the_whole_message_leans_to(
    tmp_path: Path,
) -> None:
    classifier, _ = new_classifier(tmp_path)
    classifier.train(training_data())
    text = "is it safe? how many people relapsed on it?"  # as a whole, it reads as relapses
    whole = classifier.classifier.predict_proba(classifier._features([text]))[0]
    assert classifier.classifier.classes_[whole.argmax()] == "ask_relapse"
    message = classify(classifier, text)[0]
    assert message.get(INTENT)["name"] == "ask_side_effects"
    assert message.get(INTENT)["confidence"] > whole.max()
    assert [entry["intent"] for entry in message.get("also_asked")] == ["ask_relapse"]


UNSEEN = [
    "how many peple relapsd on the drip",
    "Is it SAFE??",
    "",
    "zzzz qqqq",
    "hello hello hello, how many relapsed and what are the side effects",
    "ça va? lemtrada 12 mg",
]


@pytest.mark.parametrize("intents", [["ask_relapse", "greet"], list(EXAMPLES)])
def test_the_direct_scorer_gives_scikit_learns_probabilities(tmp_path: Path, intents: list[str]) -> None:
    """Serving skips scikit-learn's sparse matrices; the probabilities must not change, with two
    classes (a sigmoid) or more (a softmax), for unknown words and an empty message too."""
    classifier, _ = new_classifier(tmp_path)
    classifier.train(TrainingData([Message(data={TEXT: t, INTENT: i}) for i in intents for t in EXAMPLES[i]]))
    assert classifier.classifier is not None
    expected = classifier.classifier.predict_proba(classifier._features(UNSEEN))
    scored = Scorer(classifier.vectorizers, classifier.classifier).probabilities(UNSEEN)
    assert scored.shape == expected.shape
    np.testing.assert_allclose(scored, expected, rtol=0, atol=1e-12)
