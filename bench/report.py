"""Turn the figures of one benchmark run (quality.json, speed.json) into docs/benchmarks.md and its
plots, and print them. Nothing here measures: every figure in the report is one the run wrote."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import conversations

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MACRO_F1_TARGET = 0.95
TURN_TO_PARSE_TARGET = 3.0
# The targets of the configuration's side-by-side comparison (issue 14).
TRAINING_SECONDS_TARGET = 60
START_UP_SECONDS_TARGET = 10
RASA_MEMORY_MB_TARGET = 600
TURN_TO_PARSE_AND_LOOKUP_TARGET = 1.5
TURNS_PER_SECOND_TARGET = 100
NAMES = {
    "tuned": "this project (`config.yml`)",
    "previous": "previous (`bench/previous-config.yml`)",
    "baseline": "Rasa default (`bench/baseline-config.yml`)",
}


def machine() -> dict[str, str]:
    """Where the figures came from: they mean little without it."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown",
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    from importlib.metadata import version

    commit = subprocess.run(
        ["git", "log", "-1", "--format=%h"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{memory_kb / 1024 / 1024:.0f} GiB",
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "rasa": version("rasa"),
        "commit": commit or "unknown",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def plot_speed(speed: dict[str, Any], folder: Path) -> dict[str, str]:
    """Turn latency at each concurrency (with the parse floor), and throughput against concurrency."""
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)  # matplotlib 3.5's use of pyparsing 3
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    levels = sorted(speed["turns"], key=int)
    files = {"latency": folder / "turn-latency.png", "throughput": folder / "throughput.png"}

    figure, axes = plt.subplots(figsize=(8, 4.5))
    samples = [speed["turns"][level]["samples_ms"] for level in levels]
    axes.boxplot(samples, labels=[f"{level} at once" for level in levels], showfliers=True, whis=(5, 95))
    axes.axhline(
        speed["parse"]["p50_ms"], color="tab:green", linestyle="--", label="/model/parse p50 (the floor)"
    )
    axes.set_yscale("log")
    axes.set_ylabel("turn latency (ms, log scale)")
    axes.set_title("Whole turns over REST (box: quartiles; whiskers: 5th to 95th percentile)")
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(files["latency"], dpi=110)
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(8, 4.5))
    concurrency = [int(level) for level in levels]
    axes.plot(concurrency, [speed["turns"][level]["per_second"] for level in levels], "o-", color="tab:blue")
    axes.set_xscale("log", base=2)
    axes.set_xticks(concurrency, [str(c) for c in concurrency])
    axes.set_xlabel("conversations at once")
    axes.set_ylabel("messages answered per second", color="tab:blue")
    second = axes.twinx()
    second.plot(concurrency, [speed["turns"][level]["p50_ms"] for level in levels], "s--", color="tab:red")
    second.set_ylabel("turn p50 (ms)", color="tab:red")
    axes.set_title("Throughput and median turn time against concurrency")
    figure.tight_layout()
    figure.savefig(files["throughput"], dpi=110)
    plt.close(figure)
    return {name: str(path) for name, path in files.items()}


def _ms(value: float) -> str:
    return (
        "n/a" if value is None or math.isnan(value) else (f"{value:.1f}" if value < 100 else f"{value:.0f}")
    )


def _red_flag_counts(model: dict[str, Any] | None) -> tuple[int, int, int] | None:
    """(emergencies, escalated, ordinary messages escalated) from the red_flag intent's scores."""
    scores = (model or {}).get("intent", {}).get("per_intent", {}).get("red_flag")
    if not scores:
        return None
    escalated = round(scores["recall"] * scores["support"])
    predicted = round(escalated / scores["precision"]) if scores["precision"] else 0
    return scores["support"], escalated, predicted - escalated


def _emergencies(model: dict[str, Any] | None) -> str:
    counts = _red_flag_counts(model)
    return f"{counts[1]} of {counts[0]}" if counts else "n/a"


def _false_alarms(model: dict[str, Any] | None) -> str:
    counts = _red_flag_counts(model)
    return str(counts[2]) if counts else "n/a"


def _long_conversation(long: dict[str, Any] | None) -> list[str]:
    """A turn near the start of a long conversation against one near its end, and meanwhile
    another patient's, against that patient alone: the ratios are what to compare."""
    if not long:
        return []
    return [
        f"One conversation of {long['turns']} questions, one after another, while another patient asks "
        "short visits of questions; then that patient alone, as many questions again.",
        "",
        "| | p50 (ms) | against | ratio |",
        "|---|---|---|---|",
        f"| the long conversation, its last 10 turns | {_ms(long['late_p50_ms'])} | turns 6 to 15: "
        f"{_ms(long['early_p50_ms'])} | {long['late_p50_ms'] / long['early_p50_ms']:.2f}x |",
        f"| another patient, meanwhile | {_ms(long['other_patient_meanwhile_p50_ms'])} | alone: "
        f"{_ms(long['other_patient_alone_p50_ms'])} | "
        f"{long['other_patient_meanwhile_p50_ms'] / long['other_patient_alone_p50_ms']:.2f}x |",
        "",
    ]


def _verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def _cell(value: float | None, style: str = "{:.3f}") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else style.format(value)


def _quality(quality: dict[str, Any], docs: Path) -> list[str]:
    """Each configuration's answer quality, side by side, and the emergencies."""
    models = {name: entry for name, entry in quality["models"].items() if entry}
    names = list(models)
    header = "| | " + " | ".join(NAMES[name] for name in names) + " |"
    rule = "|---" * (len(names) + 1) + "|"
    rows = [
        ("training time, whole model, cold (s)", lambda m: m["training_seconds"], "{:.0f}"),
        ("intent accuracy, held-out", lambda m: m["intent"]["accuracy"], "{:.3f}"),
        ("intent macro F1, held-out", lambda m: m["intent"]["macro_f1"], "{:.3f}"),
        ("entity F1, held-out", lambda m: m["entity"]["f1"], "{:.3f}"),
        ("intent accuracy, fresh blind set", lambda m: m["blind"]["intent"]["accuracy"], "{:.3f}"),
        ("intent macro F1, fresh blind set", lambda m: m["blind"]["intent"]["macro_f1"], "{:.3f}"),
        ("entity F1, fresh blind set", lambda m: m["blind"]["entity"]["f1"], "{:.3f}"),
        ("test conversations entirely right", lambda m: m["stories"]["accuracy"], "{:.3f}"),
        ("actions right", lambda m: m["stories"]["action_accuracy"], "{:.3f}"),
    ]
    lines = [
        "## Answer quality",
        "",
        f"Three configurations trained on the same domain and data in the same run, one after another, "
        f"each from a cold cache. Each is judged on the {quality['held_out_messages']} held-out messages "
        f"in `tests/nlu/` (the previous configurations were tuned on them, and this one too, so they "
        f"flatter all three), on the {quality.get('blind_messages', 'n/a')} messages of the fresh blind "
        "set in `tests/blind/` (written before this configuration was chosen and never tuned on: the "
        f"honest figure), and on the {quality['test_conversations']} test conversations in "
        "`tests/test_stories.yml`. Intents and entities are those the whole pipeline outputs "
        "(`bench/held_out.py`); entity F1 is Rasa's token-level micro average.",
        "",
        header,
        rule,
        *(
            f"| {label} | " + " | ".join(_cell(value(models[name]), style) for name in names) + " |"
            for label, value, style in rows
        ),
        "",
    ]
    tuned, previous = models["tuned"], models.get("previous")
    seconds = tuned["training_seconds"]
    if seconds is not None:
        lines.append(
            f"Target: the whole model trains in at most {TRAINING_SECONDS_TARGET} s: "
            f"{_verdict(seconds <= TRAINING_SECONDS_TARGET)} ({seconds:.0f} s)."
        )
    if previous:
        ours, theirs = tuned["blind"], previous["blind"]
        no_worse = (
            ours["intent"]["accuracy"] >= theirs["intent"]["accuracy"]
            and ours["entity"]["f1"] >= theirs["entity"]["f1"]
        )
        lines += [
            "",
            "Target: on the fresh blind set, intents and entities no worse than the previous "
            f"configuration's: {_verdict(no_worse)} (intent accuracy {ours['intent']['accuracy']:.3f} "
            f"against {theirs['intent']['accuracy']:.3f}; entity F1 {ours['entity']['f1']:.3f} against "
            f"{theirs['entity']['f1']:.3f}).",
        ]
    baseline = models.get("baseline")
    lines += [
        "",
        "What matters most is not in the average: messages describing an emergency. This project "
        "checks every message against fixed red-flag rules after the model (`safety/`); Rasa's default "
        "has only its learned `red_flag` intent.",
        "",
        "| emergencies in the held-out messages | " + " | ".join(NAMES[name] for name in names) + " |",
        rule,
        "| escalated to the urgent-help reply | " + " | ".join(_emergencies(models[n]) for n in names) + " |",
        "| ordinary messages labelled `red_flag` | "
        + " | ".join(_false_alarms(models[n]) for n in names)
        + " |",
        "",
        "A label is what `rasa test nlu` reports. In this project the urgent-help reply also needs a "
        "rule to confirm it: a learned `red_flag` that no rule confirms goes to the fallback, which "
        "says how to get urgent help and offers topics (`tests/test_red_flags.py` checks that the "
        "rules escalate every held-out emergency and no held-out ordinary message)."
        + (
            " Rasa's default sends every `red_flag` label above its fallback threshold to the"
            " urgent-help reply."
            if baseline
            else ""
        ),
    ]
    met = tuned["intent"]["macro_f1"] >= MACRO_F1_TARGET
    weakest = sorted(tuned["intent"]["per_intent"].items(), key=lambda item: item[1]["f1"])[:6]
    lines += [
        "",
        f"Target: intent macro F1 on the held-out messages at least {MACRO_F1_TARGET}: {_verdict(met)} "
        f"({tuned['intent']['macro_f1']:.3f}).",
        "",
        "Weakest intents (this project, held-out messages):",
        "",
        "| intent | precision | recall | F1 | messages |",
        "|---|---|---|---|---|",
        *(
            f"| `{name}` | {s['precision']:.2f} | {s['recall']:.2f} | {s['f1']:.2f} | {s['support']} |"
            for name, s in weakest
        ),
        "",
    ]
    confusion = quality.get("confusion_matrix_png")
    if confusion:
        lines += [f"![Intent confusion matrix]({os.path.relpath(PROJECT_ROOT / confusion, docs)})", ""]
    return lines


def _side_by_side(speed: dict[str, Any], others: dict[str, dict[str, Any]]) -> list[str]:
    """Each configuration's serving speed and memory, side by side, with the targets."""
    runs = {"tuned": speed, **others}
    names = list(runs)

    def level(run: dict[str, Any], count: int, key: str, two: bool = False) -> float | None:
        found = run.get("turns_two_servers" if two else "turns", {}).get(str(count))
        return found[key] if found else None

    rows: list[tuple[str, Any, str]] = [
        ("`/model/parse` p50 (ms)", lambda r: r["parse"]["p50_ms"], "{:.1f}"),
        ("knowledge lookup p50 (ms)", lambda r: r["lookup"]["p50_ms"], "{:.1f}"),
        ("turn p50, 1 conversation (ms)", lambda r: level(r, 1, "p50_ms"), "{:.1f}"),
        ("turn p95, 1 conversation (ms)", lambda r: level(r, 1, "p95_ms"), "{:.1f}"),
        ("turn p50, 32 at once (ms)", lambda r: level(r, 32, "p50_ms"), "{:.0f}"),
        ("turn p95, 32 at once (ms)", lambda r: level(r, 32, "p95_ms"), "{:.0f}"),
        ("turn / parse, p50", lambda r: r["turn_to_parse_ratio_p50"], "{:.2f}x"),
        ("turn / (parse + lookup), p50", lambda r: r.get("turn_to_parse_and_lookup_ratio_p50"), "{:.2f}x"),
        ("turns/s, 32 at once, one Rasa server", lambda r: level(r, 32, "per_second"), "{:.1f}"),
        ("turns/s, 32 at once, two Rasa servers", lambda r: level(r, 32, "per_second", True), "{:.1f}"),
        (
            "Rasa server, start to first answer (s)",
            lambda r: r["rasa_start_to_first_answer_seconds"],
            "{:.1f}",
        ),
        ("Rasa server, peak memory (MiB)", lambda r: r["peak_memory_mb"]["rasa_server"], "{:.0f}"),
        ("TensorFlow loaded", lambda r: r.get("tensorflow_loaded"), "{}"),
    ]
    lines = [
        "## Side by side",
        "",
        "Each configuration's model served the same way in the same run, one after another: one action "
        "server, the knowledge store in the loop, the held-out patients' questions over REST.",
        "",
        "| | " + " | ".join(NAMES[name] for name in names) + " |",
        "|---" * (len(names) + 1) + "|",
        *(
            f"| {label} | " + " | ".join(_cell(value(runs[name]), style) for name in names) + " |"
            for label, value, style in rows
        ),
        "",
    ]
    two = level(speed, 32, "per_second", True)
    ratio = speed.get("turn_to_parse_and_lookup_ratio_p50")
    targets = [
        (
            f"Rasa server from start to first answer within {START_UP_SECONDS_TARGET} s",
            speed["rasa_start_to_first_answer_seconds"] <= START_UP_SECONDS_TARGET,
            f"{speed['rasa_start_to_first_answer_seconds']:.1f} s",
        ),
        (
            f"Rasa server peak memory at most {RASA_MEMORY_MB_TARGET} MB",
            speed["peak_memory_mb"]["rasa_server"] * 1.048576 <= RASA_MEMORY_MB_TARGET,
            f"{speed['peak_memory_mb']['rasa_server'] * 1.048576:.0f} MB",
        ),
        (
            f"a turn at 1 conversation at most {TURN_TO_PARSE_AND_LOOKUP_TARGET}x (parse + lookup) at p50",
            ratio is not None and ratio <= TURN_TO_PARSE_AND_LOOKUP_TARGET,
            _cell(ratio, "{:.2f}x"),
        ),
        (
            f"at least {TURNS_PER_SECOND_TARGET} turns/s at 32 conversations (two Rasa servers)",
            two is not None and two >= TURNS_PER_SECOND_TARGET,
            _cell(two, "{:.1f}"),
        ),
    ]
    lines += ["| target (this project) | | measured |", "|---|---|---|"]
    lines += [f"| {label} | {_verdict(met)} | {value} |" for label, met, value in targets]
    cost = speed.get("tensorflow_import")
    lines += [
        "",
        (
            "The Rasa server still loads TensorFlow although no component of this pipeline uses it: Rasa "
            "imports it for every model (`rasa.core.policies.policy` imports the featurizers, which "
            "import `rasa.utils.tensorflow`). Importing it alone costs "
            f"{cost['import_seconds']:.1f} s and {cost['memory_mb']:.0f} MiB here."
            if cost
            else "The Rasa server does not load TensorFlow."
        ),
        "",
    ]
    return lines


def render(quality: dict[str, Any] | None, speed: dict[str, Any], info: dict[str, str], plots: dict[str, str],
           docs: Path, command: str, total_seconds: float,
           others: dict[str, dict[str, Any]] | None = None) -> str:  # fmt: skip
    """The report, in Markdown; image links relative to `docs`."""
    lines = [
        "# Benchmarks",
        "",
        f"Figures from one run of `{command}` ({total_seconds / 60:.1f} minutes), on {info['date']} "
        f"at commit `{info['commit']}`. Run it again to reproduce them; the command prints the same "
        "figures it writes here. The machine is shared, so timings vary from run to run: compare the ratios, "
        "which are measured side by side in the same run.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in info.items()),
        "",
    ]
    if quality:
        lines += _quality(quality, docs)
    lines += _side_by_side(speed, others or {})
    one = speed["turns"][min(speed["turns"], key=int)]
    met = speed["turn_to_parse_ratio_p50"] <= TURN_TO_PARSE_TARGET
    lines += [
        "## Speed",
        "",
        "One action server and one Rasa server on loopback, the knowledge store in the loop (SQLite, "
        "`var/knowledge.db`), messages from the held-out patients' questions. A visit is a hello (not "
        f"timed), then {speed['plan']['questions_per_conversation']} questions, each timed from sending it "
        "to having the whole answer (`bench/speed.py`).",
        "",
        "| | p50 (ms) | p95 (ms) | p99 (ms) | messages/s | requests | failures |",
        "|---|---|---|---|---|---|---|",
        "| `/model/parse` alone (the floor) | "
        + " | ".join(_ms(speed["parse"][k]) for k in ("p50_ms", "p95_ms", "p99_ms"))
        + f" | {speed['parse']['per_second']:.1f} | {speed['parse']['requests']} "
        + f"| {speed['parse']['failures']} |",
        *(
            f"| whole turn, {level} conversation{'s' if int(level) > 1 else ''} at once | "
            + " | ".join(_ms(t[k]) for k in ("p50_ms", "p95_ms", "p99_ms"))
            + f" | {t['per_second']:.1f} | {t['requests']} | {t['failures']} |"
            for level, t in sorted(speed["turns"].items(), key=lambda item: int(item[0]))
        ),
        "| knowledge lookup alone (composing an answer, in-process) | "
        + " | ".join(_ms(speed["lookup"][k]) for k in ("p50_ms", "p95_ms", "p99_ms"))
        + f" | {speed['lookup']['per_second']:.0f} | {speed['lookup']['requests']} | 0 |",
        "",
        f"A whole turn at 1 conversation takes **{speed['turn_to_parse_ratio_p50']:.2f}x** a parse at the "
        f"median (p50 {_ms(one['p50_ms'])} ms against {_ms(speed['parse']['p50_ms'])} ms). Target: at most "
        f"{TURN_TO_PARSE_TARGET:.0f}x: **{'met' if met else 'not met'}**.",
        "",
        *_long_conversation(speed.get("long_conversation")),
        "| start-up and memory | |",
        "|---|---|",
        f"| action server, start to healthy | {speed['action_server_start_seconds']:.1f} s |",
        f"| Rasa server, start to first answer | {speed['rasa_start_to_first_answer_seconds']:.1f} s |",
        f"| peak memory (RSS), Rasa server | {speed['peak_memory_mb']['rasa_server']:.0f} MiB |",
        f"| peak memory (RSS), action server | {speed['peak_memory_mb']['action_server']:.0f} MiB |",
        "",
        f"![Turn latency]({os.path.relpath(plots['latency'], docs)})",
        "",
        f"![Throughput against concurrency]({os.path.relpath(plots['throughput'], docs)})",
        "",
    ]
    if conversations.RECORDED.exists():
        lines += conversations.section(json.loads(conversations.RECORDED.read_text()))
    return "\n".join(lines)


def write(out: Path, docs: Path, command: str, total_seconds: float) -> Path:
    """Read the run's figures from `out`, write the plots beside the report in `docs`, and the report."""
    quality_file = out / "quality.json"
    quality = json.loads(quality_file.read_text()) if quality_file.exists() else None
    speed = json.loads((out / "speed.json").read_text())
    others = {
        name: json.loads((out / f"speed-{name}.json").read_text())
        for name in ("previous", "baseline")
        if (out / f"speed-{name}.json").exists()
    }
    plots = plot_speed(speed, docs / "benchmarks")
    report = docs / "benchmarks.md"
    report.write_text(render(quality, speed, machine(), plots, docs, command, total_seconds, others))
    return report
