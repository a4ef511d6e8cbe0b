"""The answer-quality benchmark (`bench/quality.py`): its quick run produces every figure the issue
asks for, in range, with a real picture; and the arithmetic that turns Rasa's reports into those
figures is right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from bench import quality
from tests.helpers import PNG_SIGNATURE
from tests.live_bot import MODEL

INTENT_KEYS = {"accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1", "per_intent"}
STORY_KEYS = {"conversations", "correct", "accuracy", "action_accuracy"}


@pytest.fixture(scope="module")
def smoke(bench_smoke_run: tuple[Path, str]) -> tuple[Path, dict]:
    """The quality half of the one smoke run of the whole benchmark."""
    out, printed = bench_smoke_run
    assert "macro F1" in printed
    return out, json.loads((out / "quality.json").read_text())


def test_the_smoke_run_gives_every_figure_in_range(smoke: tuple[Path, dict]) -> None:
    _, figures = smoke
    assert figures["smoke"] is True and figures["gain"] is None
    assert figures["models"]["baseline"] is None
    assert figures["held_out_messages"] == quality.SMOKE_MESSAGES
    assert figures["test_conversations"] > 0
    tuned = figures["models"]["tuned"]
    assert INTENT_KEYS <= tuned["intent"].keys() and STORY_KEYS <= tuned["stories"].keys()
    assert tuned["training_seconds"] is None  # nothing was trained
    values = [tuned["intent"][key] for key in INTENT_KEYS - {"per_intent"}]
    values += [tuned["stories"]["accuracy"], tuned["stories"]["action_accuracy"]]
    for scores in tuned["intent"]["per_intent"].values():
        values += [scores["precision"], scores["recall"], scores["f1"]]
    assert all(0 <= value <= 1 for value in values), values
    assert sum(s["support"] for s in tuned["intent"]["per_intent"].values()) == figures["held_out_messages"]
    assert tuned["stories"]["correct"] <= tuned["stories"]["conversations"] == figures["test_conversations"]
    assert tuned["blind"]["intent"]["messages"] == figures["blind_messages"] >= 150
    for scored in (tuned["entity"], tuned["blind"]["entity"], tuned["blind"]["intent"]):
        assert all(0 <= scored[key] <= 1 for key in scored.keys() & {"precision", "recall", "f1", "accuracy"})
    assert tuned["blind"]["entity"]["tokens"] > 100  # the blind set's entities were scored


def test_the_smoke_run_draws_its_picture_into_out_not_docs(smoke: tuple[Path, dict]) -> None:
    out, figures = smoke
    picture = Path(figures["confusion_matrix_png"])
    assert picture.parent == out
    assert picture.read_bytes()[:8] == PNG_SIGNATURE and picture.stat().st_size > 10_000


def test_intent_figures_come_from_rasas_report() -> None:
    report = {
        "greet": {
            "precision": 1.0,
            "recall": 0.5,
            "f1-score": 2 / 3,
            "support": 2,
            "confused_with": {"thank": 1},
        },
        "thank": {"precision": 0.5, "recall": 1.0, "f1-score": 2 / 3, "support": 1, "confused_with": {}},
        "micro avg": {"precision": 2 / 3, "recall": 2 / 3, "f1-score": 2 / 3, "support": 3},
        "macro avg": {"precision": 0.75, "recall": 0.75, "f1-score": 2 / 3, "support": 3},
        "weighted avg": {"precision": 5 / 6, "recall": 2 / 3, "f1-score": 2 / 3, "support": 3},
    }
    figures = quality.intent_figures(report)
    assert figures["accuracy"] == pytest.approx(2 / 3)  # no "accuracy" key: micro-averaged recall
    assert figures["macro_precision"] == 0.75 and figures["weighted_f1"] == pytest.approx(2 / 3)
    assert set(figures["per_intent"]) == {"greet", "thank"}  # the averages are not intents
    assert figures["per_intent"]["greet"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 2,
    }
    assert quality.intent_figures({**report, "accuracy": 0.9})["accuracy"] == 0.9


def test_story_accuracy_counts_whole_conversations_not_actions() -> None:
    report = {
        "accuracy": 0.95,
        "macro avg": {"precision": 0.9, "recall": 0.9, "f1-score": 0.9, "support": 40},
        "conversation_accuracy": {"accuracy": 0.75, "correct": 3, "with_warnings": 1, "total": 4},
    }
    assert quality.story_figures(report) == {
        "conversations": 4,
        "correct": 3,
        "accuracy": 0.75,
        "action_accuracy": 0.95,
        "with_warnings": 1,
    }


def test_the_confusion_matrix_has_true_intents_as_rows() -> None:
    successes = [{"text": "hi", "intent": "greet", "intent_prediction": {"name": "greet", "confidence": 0.9}}]
    errors = [
        {"text": "ta", "intent": "thank", "intent_prediction": {"name": "greet", "confidence": 0.4}},
        {"text": "hm", "intent": "greet", "intent_prediction": {"name": "zzz_other", "confidence": 0.4}},
    ]
    pairs = quality.predictions(successes, errors)
    labels = quality.labels_in_order(pairs, ["thank", "goodbye", "greet"])
    assert labels == ["thank", "greet", "zzz_other"]  # domain order, absent ones dropped, extras last
    assert quality.confusion_matrix(pairs, labels) == [[0, 1, 0], [0, 1, 1], [0, 0, 0]]
    assert quality.matrix_accuracy(quality.confusion_matrix(pairs, labels)) == pytest.approx(1 / 3)


def test_a_prediction_that_disagrees_with_the_report_is_refused(tmp_path: Path) -> None:
    results = {
        "intent_report": {
            "greet": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 1},
            "accuracy": 1.0,
            "macro avg": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 1},
            "weighted avg": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 1},
        },
        "pairs": [("greet", "thank")],
        "story_report": {},
    }
    with pytest.raises(RuntimeError, match="do not add up"):
        quality.model_entry("tuned", None, MODEL, None, results, tmp_path / "picture.png")


def test_gain_is_tuned_over_baseline_and_none_without_a_baseline_figure() -> None:
    def model(f1: float, stories: float, seconds: float | None) -> dict:
        return {"intent": {"macro_f1": f1}, "stories": {"accuracy": stories}, "training_seconds": seconds}

    assert quality.gain(model(0.9, 1.0, 100.0), model(0.6, 0.5, 200.0)) == {
        "macro_f1_ratio": pytest.approx(1.5),
        "story_accuracy_ratio": 2.0,
        "training_time_ratio": 0.5,
    }
    assert quality.gain(model(0.9, 1.0, None), model(0.6, 0.0, 200.0))["story_accuracy_ratio"] is None
    assert quality.ratio(None, 200.0) is None


def test_entities_are_scored_token_by_token_from_every_extractor() -> None:
    from rasa.nlu.tokenizers.tokenizer import Token

    from bench.held_out import micro_scores, token_labels

    tokens = [Token("relapses", 0), Token("on", 9), Token("lemtrada", 12), Token("now", 21)]
    gold = [{"entity": "outcome", "start": 0, "end": 8}, {"entity": "treatment", "start": 12, "end": 20}]
    predicted = [  # one from each extractor, one wrong
        {"entity": "treatment", "start": 12, "end": 20, "extractor": "RegexEntityExtractor"},
        {"entity": "trial", "start": 21, "end": 24, "extractor": "CRFEntityExtractor"},
    ]
    gold_labels, predicted_labels = token_labels(tokens, gold), token_labels(tokens, predicted)
    assert gold_labels == ["outcome", "no_entity", "treatment", "no_entity"]
    assert predicted_labels == ["no_entity", "no_entity", "treatment", "trial"]
    scores = micro_scores(gold_labels, predicted_labels)
    assert scores == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tokens": 2}
    assert micro_scores(["no_entity"], ["no_entity"])["f1"] == 0.0


def test_the_held_out_slice_takes_intents_in_turn_and_rasa_reads_it(tmp_path: Path) -> None:
    source = tmp_path / "source.yml"
    source.write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: greet\n  examples: |\n    - hi\n    - hello\n    - hey\n"
        '- intent: ask_relapse\n  examples: |\n    - how many [relapsed]{"entity": "outcome", "value": "relapse"}\n'
        "- intent: thank\n  examples: |\n    - thanks\n    - cheers\n"
    )
    written = tmp_path / "slice.yml"
    written.write_text(quality.held_out_slice([source], 4))
    examples = load_data(str(written)).intent_examples
    assert [(e.get("intent"), e.get("text")) for e in examples] == [
        ("greet", "hi"),
        ("greet", "hello"),
        ("ask_relapse", "how many relapsed"),
        ("thank", "thanks"),
    ]
    assert examples[2].get("entities")[0]["value"] == "relapse"  # annotations are kept
