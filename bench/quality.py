"""Answer quality: our configuration, the one before it and Rasa's untuned default, on data none
has seen.

`python -m bench.quality --out results/bench` trains `config.yml`, `bench/previous-config.yml` and
`bench/baseline-config.yml` on the same domain and data, one after another, each from a cold cache
and timed, then runs Rasa's own evaluation (`rasa test nlu` on the held-out messages in tests/nlu/,
`rasa test core` on tests/test_stories.yml) on each. It also scores each model's intents and
entities with `bench.held_out` on tests/nlu/ and on the fresh blind set in tests/blind/ (written
before this configuration was tuned, and never tuned on). It writes the figures and their ratios
to `quality.json`, and draws each model's intent confusion matrix into docs/benchmarks/.

`--smoke` trains nothing: it checks the already-trained models/assistant.tar.gz on a slice of
the held-out set, in under a minute, and writes everything (pictures too) into --out only.

Which intent figures: `intent_report.json`. Rasa computes it from what the whole pipeline
outputs (rasa/nlu/test.py, `get_eval_data` parses each message with the full model), so a
message that RedFlagDetector turns into `red_flag` counts as `red_flag`: the intent the assistant
acts on. The per-component files (DIETClassifier_report.json, RedFlagDetector_report.json) are
entity reports, not intent ones. One exception, Rasa's and deliberate: a prediction of
`nlu_fallback` is undone to the next intent in the ranking, so the figures score the intent
picked, not the fallback threshold (the assistant would ask "did you mean?" there instead).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOMAIN = PROJECT_ROOT / "domain.yml"
DATA = PROJECT_ROOT / "data"
HELD_OUT = PROJECT_ROOT / "tests" / "nlu"
BLIND = PROJECT_ROOT / "tests" / "blind"
TEST_STORIES = PROJECT_ROOT / "tests" / "test_stories.yml"
TRAINED_MODEL = PROJECT_ROOT / "models" / "assistant.tar.gz"
DOCS_PICTURES = PROJECT_ROOT / "docs" / "benchmarks"
CONFIGS = {
    "tuned": PROJECT_ROOT / "config.yml",
    "previous": PROJECT_ROOT / "bench" / "previous-config.yml",
    "baseline": PROJECT_ROOT / "bench" / "baseline-config.yml",
}
PICTURES = {name: f"intent-confusion{'' if name == 'tuned' else '-' + name}.png" for name in CONFIGS}
SMOKE_MESSAGES = 27  # one message of each intent
RASA_TIMEOUT_SECONDS = 1200
# Keys of Rasa's (scikit-learn's) report that are averages, not intents.
AVERAGES = {"accuracy", "macro avg", "weighted avg", "micro avg"}


# ---- pure functions: reports and predictions into figures -------------------------------------


def accuracy(report: dict[str, Any]) -> float:
    """A scikit-learn report's accuracy. It writes "accuracy" only when every predicted label is
    also a true one; otherwise micro-averaged recall is the same number."""
    return report["accuracy"] if "accuracy" in report else report["micro avg"]["recall"]


def intent_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The intent figures of `intent_report.json`, renamed to plain keys."""
    per_intent = {
        name: {
            "precision": scores["precision"],
            "recall": scores["recall"],
            "f1": scores["f1-score"],
            "support": int(scores["support"]),
        }
        for name, scores in sorted(report.items())
        if name not in AVERAGES and isinstance(scores, dict)
    }
    return {
        "accuracy": accuracy(report),
        "macro_precision": report["macro avg"]["precision"],
        "macro_recall": report["macro avg"]["recall"],
        "macro_f1": report["macro avg"]["f1-score"],
        "weighted_f1": report["weighted avg"]["f1-score"],
        "per_intent": per_intent,
    }


def story_figures(report: dict[str, Any]) -> dict[str, Any]:
    """Conversation-level accuracy (every action of a test conversation right) and the accuracy
    of single action predictions, from `story_report.json`."""
    conversations = report["conversation_accuracy"]
    total, correct = int(conversations["total"]), int(conversations["correct"])
    return {
        "conversations": total,
        "correct": correct,
        "accuracy": correct / total if total else 0.0,
        "action_accuracy": accuracy(report),
        "with_warnings": int(conversations.get("with_warnings", 0)),
    }


def predictions(successes: list[dict], errors: list[dict]) -> list[tuple[str, str]]:
    """(true intent, predicted intent) for every held-out message, from Rasa's
    `intent_successes.json` and `intent_errors.json`, which between them hold every message."""
    return [
        (item["intent"], (item.get("intent_prediction") or {}).get("name") or "(none)")
        for item in [*successes, *errors]
    ]


def labels_in_order(pairs: list[tuple[str, str]], preferred: list[str]) -> list[str]:
    """Every intent that occurs, in the domain's order (which keeps related topics together),
    then any other predicted label alphabetically."""
    seen = {label for pair in pairs for label in pair}
    return [label for label in preferred if label in seen] + sorted(seen - set(preferred))


def confusion_matrix(pairs: list[tuple[str, str]], labels: list[str]) -> list[list[int]]:
    """Counts with true intents as rows and predicted intents as columns."""
    index = {label: position for position, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for true, predicted in pairs:
        matrix[index[true]][index[predicted]] += 1
    return matrix


def matrix_accuracy(matrix: list[list[int]]) -> float:
    """Share of messages on the diagonal: the check that the matrix matches Rasa's report."""
    total = sum(map(sum, matrix))
    return sum(matrix[i][i] for i in range(len(matrix))) / total if total else 0.0


def ratio(tuned: float | None, baseline: float | None) -> float | None:
    """tuned / baseline, or None when it has no meaning (a missing or zero baseline)."""
    if tuned is None or not baseline:
        return None
    return tuned / baseline


def gain(tuned: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float | None]:
    """Our configuration's figures over the baseline's: above 1 is better for F1 and story
    accuracy; below 1 is better (faster) for training time."""
    return {
        "macro_f1_ratio": ratio(tuned["intent"]["macro_f1"], baseline["intent"]["macro_f1"]),
        "story_accuracy_ratio": ratio(tuned["stories"]["accuracy"], baseline["stories"]["accuracy"]),
        "training_time_ratio": ratio(tuned["training_seconds"], baseline["training_seconds"]),
    }


def held_out_slice(nlu_files: list[Path], count: int) -> str:
    """A Rasa NLU file with `count` held-out messages taken in turn from each intent (the first
    of every intent, then the second, ...), so a small slice still spans many intents. Example
    lines are copied as written, entity annotations included."""
    by_intent: dict[str, list[str]] = {}
    for path in nlu_files:
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            if "intent" in block:
                lines = [line.strip() for line in block["examples"].splitlines() if line.strip()]
                by_intent.setdefault(block["intent"], []).extend(lines)
    chosen: dict[str, list[str]] = {}
    depth = 0
    while sum(map(len, chosen.values())) < count and any(len(v) > depth for v in by_intent.values()):
        for intent, lines in by_intent.items():
            if depth < len(lines) and sum(map(len, chosen.values())) < count:
                chosen.setdefault(intent, []).append(lines[depth])
        depth += 1
    blocks = [{"intent": intent, "examples": "\n".join(lines) + "\n"} for intent, lines in chosen.items()]
    return yaml.dump({"version": "3.1", "nlu": blocks}, Dumper=_LiteralDumper, sort_keys=False)


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings as `|` blocks, the way Rasa's examples are written."""


_LiteralDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


# ---- Rasa, run as the user runs it ------------------------------------------------------------


def rasa(arguments: list[str], log: Path, **extra_environment: str) -> None:
    """Run the `rasa` command of this environment, its output into `log`; fail loudly."""
    environment = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        run = subprocess.run(
            [str(BIN / "rasa"), *arguments],
            cwd=PROJECT_ROOT,
            env={**environment, **extra_environment},
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=RASA_TIMEOUT_SECONDS,
        )
    if run.returncode != 0:
        tail = log.read_text()[-3000:]
        raise RuntimeError(f"`rasa {' '.join(arguments[:2])}` failed ({run.returncode}), see {log}:\n{tail}")


def train(name: str, config: Path, out: Path) -> tuple[Path, float]:
    """Train one configuration and return the model and the wall time of `rasa train`.

    Cold, so the time is honest: a fresh RASA_CACHE_DIRECTORY (read by rasa/engine/caching.py)
    means nothing is reused from an earlier training. The config is a temporary copy because
    Rasa writes its filled-in defaults back into the file it is given."""
    model = out / "models" / f"{name}.tar.gz"
    model.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        temporary = Path(folder)
        shutil.copyfile(config, temporary / "config.yml")
        arguments = ["train", "--config", str(temporary / "config.yml"), "--domain", str(DOMAIN)]
        arguments += ["--data", str(DATA), "--out", str(temporary / "model"), "--fixed-model-name", name]
        started = time.perf_counter()
        rasa(arguments, out / "logs" / f"train-{name}.log", RASA_CACHE_DIRECTORY=str(temporary / "cache"))
        seconds = time.perf_counter() - started
        shutil.move(temporary / "model" / f"{name}.tar.gz", model)
    return model, seconds


def evaluate(name: str, model: Path, nlu: Path, stories: Path, out: Path) -> dict[str, Any]:
    """`rasa test nlu` and `rasa test core` on one model, side by side (each mostly waits on one
    core), and their reports. Rasa's own plots are skipped: we draw ours."""
    nlu_out, core_out = out / name / "nlu", out / name / "core"
    for folder in (nlu_out, core_out):
        shutil.rmtree(folder, ignore_errors=True)  # no stale successes or errors from a past run
    runs = [
        (["test", "nlu", "--model", str(model), "--nlu", str(nlu), "--out", str(nlu_out)], "nlu"),
        (["test", "core", "--model", str(model), "--stories", str(stories), "--out", str(core_out)], "core"),
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [
            pool.submit(
                rasa, [*arguments, "--successes", "--no-plot"], out / "logs" / f"test-{part}-{name}.log"
            )
            for arguments, part in runs
        ]
        for job in jobs:
            job.result()

    def read(path: Path) -> Any:
        return json.loads(path.read_text()) if path.exists() else []

    return {
        "scores": scores(model, nlu, out / name),
        "intent_report": read(nlu_out / "intent_report.json"),
        "pairs": predictions(read(nlu_out / "intent_successes.json"), read(nlu_out / "intent_errors.json")),
        "story_report": read(core_out / "story_report.json"),
    }


def scores(model: Path, nlu: Path, out: Path) -> dict[str, Any]:
    """Intents and entities of everything the pipeline outputs (`bench.held_out`), on the held-out
    messages evaluated and on the fresh blind set, in a process of their own."""
    found = {}
    out.mkdir(parents=True, exist_ok=True)
    for name, files in (("held_out", [nlu]), ("blind", sorted(BLIND.glob("*.yml")))):
        figures = out / f"scores-{name}.json"
        run = subprocess.run(
            [sys.executable, "-m", "bench.held_out", "--out", str(figures), str(model), *map(str, files)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=RASA_TIMEOUT_SECONDS,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        if run.returncode != 0:
            raise RuntimeError(f"bench.held_out failed on {model}:\n{run.stderr[-3000:]}")
        found[name] = json.loads(figures.read_text())
    return found


# ---- the picture ------------------------------------------------------------------------------


def draw_confusion_matrix(matrix: list[list[int]], labels: list[str], title: str, path: Path) -> None:
    """A confusion matrix with counts in the cells. Colour is the share of each true intent's
    messages, so a mistake shows as clearly for an intent with 5 messages as for one with 20."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shares = [[count / (sum(row) or 1) for count in row] for row in matrix]
    size = max(6.0, 0.42 * len(labels) + 3)
    figure, axes = plt.subplots(figsize=(size + 1.5, size))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for row, counts in enumerate(matrix):
        for column, count in enumerate(counts):
            if count:
                colour = "white" if shares[row][column] > 0.6 else ("firebrick" if row != column else "black")
                axes.text(column, row, str(count), ha="center", va="center", fontsize=8, color=colour)
    axes.set_xticks(range(len(labels)), labels, rotation=60, ha="right", rotation_mode="anchor", fontsize=8)
    axes.set_yticks(range(len(labels)), labels, fontsize=8)
    axes.set_xlabel("predicted intent")
    axes.set_ylabel("true intent")
    axes.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02, label="share of the true intent's messages")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(figure)


# ---- putting it together ----------------------------------------------------------------------


def domain_intents() -> list[str]:
    return list(yaml.safe_load(DOMAIN.read_text())["intents"])


def shown(path: Path) -> str:
    """A path as the report shows it: relative to the project when it is inside it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def model_entry(
    name: str, config: Path | None, model: Path, seconds: float | None, results: dict[str, Any], picture: Path
) -> dict[str, Any]:
    """One model's figures; also draws its confusion matrix and checks it against Rasa's report."""
    intent = intent_figures(results["intent_report"])
    labels = labels_in_order(results["pairs"], domain_intents())
    matrix = confusion_matrix(results["pairs"], labels)
    if abs(matrix_accuracy(matrix) - intent["accuracy"]) > 1e-9:
        raise RuntimeError(f"{name}: the predictions do not add up to Rasa's intent report")
    title = (
        f"Intent confusion, {name} model ({shown(config) if config else shown(model)}), "
        f"{len(results['pairs'])} held-out messages: macro-F1 {intent['macro_f1']:.3f}, "
        f"accuracy {intent['accuracy']:.3f}"
    )
    draw_confusion_matrix(matrix, labels, title, picture)
    mistakes = sorted(
        (
            (count, true, labels[column])
            for true, row in zip(labels, matrix, strict=True)
            for column, count in enumerate(row)
        ),
        reverse=True,
    )
    return {
        "config": shown(config) if config else None,
        "training_seconds": seconds,
        "intent": intent,
        "entity": results["scores"]["held_out"]["entity"],
        "blind": results["scores"]["blind"],
        "stories": story_figures(results["story_report"]),
        "model_path": shown(model),
        "confusions": [
            {"true": true, "predicted": predicted, "count": count}
            for count, true, predicted in mistakes
            if count and true != predicted
        ],
    }


def table(figures: dict[str, Any]) -> str:
    """The headline figures, one column per model, for the terminal."""
    models = {name: entry for name, entry in figures["models"].items() if entry}
    rows = [
        ("intent accuracy", lambda m: m["intent"]["accuracy"], "{:.3f}"),
        ("macro precision", lambda m: m["intent"]["macro_precision"], "{:.3f}"),
        ("macro recall", lambda m: m["intent"]["macro_recall"], "{:.3f}"),
        ("macro F1", lambda m: m["intent"]["macro_f1"], "{:.3f}"),
        ("weighted F1", lambda m: m["intent"]["weighted_f1"], "{:.3f}"),
        ("story accuracy", lambda m: m["stories"]["accuracy"], "{:.3f}"),
        ("action accuracy", lambda m: m["stories"]["action_accuracy"], "{:.3f}"),
        ("entity F1", lambda m: m["entity"]["f1"], "{:.3f}"),
        ("blind accuracy", lambda m: m["blind"]["intent"]["accuracy"], "{:.3f}"),
        ("blind macro F1", lambda m: m["blind"]["intent"]["macro_f1"], "{:.3f}"),
        ("blind entity F1", lambda m: m["blind"]["entity"]["f1"], "{:.3f}"),
        ("training seconds", lambda m: m["training_seconds"], "{:.0f}"),
    ]
    lines = [f"{'':18}" + "".join(f"{name:>12}" for name in models)]
    for label, value, style in rows:
        cells = [value(entry) for entry in models.values()]
        lines.append(f"{label:18}" + "".join(f"{'-' if c is None else style.format(c):>12}" for c in cells))
    for name, value in (figures.get("gain") or {}).items():
        lines.append(f"{name:26}{'-' if value is None else f'{value:.3f}':>8}")
    return "\n".join(lines)


def full(out: Path) -> dict[str, Any]:
    """Train every configuration one after the other (never side by side, so each training time
    is its own), then evaluate them two at a time."""
    trained = {name: train(name, config, out) for name, config in CONFIGS.items()}
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {
            name: pool.submit(evaluate, name, model, HELD_OUT, TEST_STORIES, out)
            for name, (model, _) in trained.items()
        }
        results = {name: job.result() for name, job in jobs.items()}
    pictures = {name: DOCS_PICTURES / PICTURES[name] for name in CONFIGS}
    models = {
        name: model_entry(name, CONFIGS[name], model, seconds, results[name], pictures[name])
        for name, (model, seconds) in trained.items()
    }
    return {
        "smoke": False,
        "held_out_messages": len(results["tuned"]["pairs"]),
        "blind_messages": models["tuned"]["blind"]["intent"]["messages"],
        "test_conversations": models["tuned"]["stories"]["conversations"],
        "models": models,
        "gain": gain(models["tuned"], models["baseline"]),
        "confusion_matrix_png": shown(pictures["tuned"]),
        "confusion_matrix_png_previous": shown(pictures["previous"]),
        "confusion_matrix_png_baseline": shown(pictures["baseline"]),
    }


def smoke(out: Path) -> dict[str, Any]:
    """The trained model on a slice of the held-out set: the whole path in well under a minute."""
    if not TRAINED_MODEL.exists():
        raise SystemExit(f"No trained model at {TRAINED_MODEL}: run `make train`.")
    out.mkdir(parents=True, exist_ok=True)
    nlu = out / "held-out-slice.yml"
    nlu.write_text(held_out_slice(sorted(HELD_OUT.glob("*.yml")), SMOKE_MESSAGES))
    results = evaluate("tuned", TRAINED_MODEL, nlu, TEST_STORIES, out)
    picture = out / "intent-confusion.png"
    tuned = model_entry("tuned", CONFIGS["tuned"], TRAINED_MODEL, None, results, picture)
    return {
        "smoke": True,
        "held_out_messages": len(results["pairs"]),
        "blind_messages": tuned["blind"]["intent"]["messages"],
        "test_conversations": tuned["stories"]["conversations"],
        "models": {"tuned": tuned, "previous": None, "baseline": None},
        "gain": None,
        "confusion_matrix_png": shown(picture),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when it finished (`bench.__main__` calls it too)."""
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results" / "bench")
    parser.add_argument("--smoke", action="store_true", help="no training; a slice of the held-out set")
    arguments = parser.parse_args(argv)
    out = arguments.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    figures = smoke(out) if arguments.smoke else full(out)
    figures["wall_seconds"] = time.perf_counter() - started
    (out / "quality.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(table(figures))
    print(f"{shown(out / 'quality.json')} written in {figures['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
