"""Intent and entity quality of one trained model on held-out messages, scored the same way for
every pipeline.

Rasa's `rasa test nlu` reports entities per extractor, so a pipeline whose entities come from
two extractors (a learned one and the lookup tables) would get two partial reports and no total.
This scores what the assistant acts on instead: every entity the whole pipeline outputs, whoever
found it, compared token by token with the annotation, as Rasa does for one extractor
(`rasa.nlu.test.evaluate_entities`: micro-averaged over entity types, `no_entity` left out). For
a pipeline with a single extractor the figure is the same as Rasa's.

Intents are Rasa's too (`get_eval_data`): the intent of the whole pipeline, so a message the
red-flag check escalates counts as `red_flag`, and an `nlu_fallback` is undone to the intent it
shadowed.

Usage: python -m bench.held_out [--out FIGURES.json] MODEL FILE_OR_DIR [...]
(the figures as JSON, into FIGURES.json or else printed: Rasa prints notices of its own, so a
program reading the figures should name a file)
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

NO_ENTITY = "no_entity"
# The red-flag check marks what it found as entities so the urgent reply can fit them; they are
# the safety layer's output, scored by the red-flag tests, not annotated in the NLU data.
SAFETY_ENTITIES = {"red_flag", "urgent_reply"}


def token_labels(tokens: list[Any], entities: list[dict[str, Any]]) -> list[str]:
    """The entity type of each token (or `no_entity`), from entities of any extractor."""
    from rasa.nlu.test import NO_ENTITY_TAG, determine_token_labels

    return [
        NO_ENTITY if (label := determine_token_labels(token, entities, None)) == NO_ENTITY_TAG else label
        for token in tokens
    ]


def micro_scores(gold: list[str], predicted: list[str]) -> dict[str, float]:
    """Micro-averaged precision, recall and F1 over the entity types, `no_entity` excluded."""
    pairs = list(zip(gold, predicted, strict=True))
    true_positive = sum(1 for g, p in pairs if g == p and g != NO_ENTITY)
    predicted_positive = sum(1 for _, p in pairs if p != NO_ENTITY)
    gold_positive = sum(1 for g, _ in pairs if g != NO_ENTITY)
    precision = true_positive / predicted_positive if predicted_positive else 0.0
    recall = true_positive / gold_positive if gold_positive else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tokens": gold_positive}


def intent_scores(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Accuracy and macro F1 over the true intents, and each intent's F1."""
    from sklearn.metrics import f1_score

    gold = [g for g, _ in pairs]
    predicted = [p for _, p in pairs]
    labels = sorted(set(gold))
    per_intent = f1_score(gold, predicted, labels=labels, average=None, zero_division=0)
    return {
        "messages": len(pairs),
        "correct": sum(1 for g, p in pairs if g == p),
        "accuracy": sum(1 for g, p in pairs if g == p) / len(pairs) if pairs else 0.0,
        "macro_f1": float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)),
        "per_intent_f1": {label: float(score) for label, score in zip(labels, per_intent, strict=True)},
    }


async def evaluate(model: Path, files: list[Path]) -> dict[str, Any]:
    """Parse every message of `files` with `model` and score intents and entities."""
    from rasa.core.agent import Agent
    from rasa.nlu.test import get_eval_data
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa logs each parsed text at debug level
    agent = Agent.load(str(model))
    data = TrainingDataImporter.load_from_dict(training_data_paths=[str(f) for f in files]).get_nlu_data()
    intent_results, _, entity_results = await get_eval_data(agent.processor, data)
    gold_tokens: list[str] = []
    predicted_tokens: list[str] = []
    for result in entity_results:
        gold_tokens += token_labels(result.tokens, result.entity_targets)
        learned = [e for e in result.entity_predictions if e.get("entity") not in SAFETY_ENTITIES]
        predicted_tokens += token_labels(result.tokens, learned)
    return {
        "intent": intent_scores([(r.intent_target, r.intent_prediction or "(none)") for r in intent_results]),
        "entity": micro_scores(gold_tokens, predicted_tokens),
    }


def main(argv: list[str]) -> int:
    out = None
    if argv[:1] == ["--out"] and len(argv) > 1:
        out, argv = Path(argv[1]), argv[2:]
    if len(argv) < 2:
        print(__doc__.rsplit("Usage: ", 1)[1], file=sys.stderr)
        return 2
    figures = json.dumps(asyncio.run(evaluate(Path(argv[0]), [Path(a) for a in argv[1:]])), indent=2)
    if out:
        out.write_text(figures + "\n")
    else:
        print(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
