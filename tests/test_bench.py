"""The benchmark, in its quick form: `python -m bench --smoke` (run once, by the `bench_smoke_run`
fixture) measures quality and speed and writes the report with its plots, and the figures in the
report are the ones it measured."""

from __future__ import annotations

import json
from pathlib import Path

from bench.speed import (
    EARLY_TURNS,
    LATE_TURNS,
    Latencies,
    long_conversation_script,
    patient_messages,
    percentile,
)
from tests.helpers import PNG_SIGNATURE, PROJECT_ROOT


def test_the_smoke_run_measures_every_figure_the_issue_asks_for(bench_smoke_run: tuple[Path, str]) -> None:
    out, _ = bench_smoke_run
    speed = json.loads((out / "speed.json").read_text())
    assert speed["smoke"] is True
    for level in speed["turns"].values():
        assert level["requests"] > 0 and level["failures"] == 0
        assert 0 < level["p50_ms"] <= level["p95_ms"] <= level["p99_ms"]
    assert 0 < speed["parse"]["p50_ms"] and speed["parse"]["failures"] == 0
    assert speed["turn_to_parse_ratio_p50"] > 1  # a whole turn includes a parse
    assert 0 < speed["lookup"]["p50_ms"]
    assert speed["peak_memory_mb"]["rasa_server"] > speed["peak_memory_mb"]["action_server"] > 10
    assert speed["rasa_start_to_first_answer_seconds"] > 0
    long = speed["long_conversation"]
    assert long["turns"] >= 30 and 0 < long["early_p50_ms"] and 0 < long["late_p50_ms"]
    assert 0 < long["other_patient_meanwhile_p50_ms"] and 0 < long["other_patient_alone_p50_ms"]
    two = speed["turns_two_servers"]["4"]
    assert two["requests"] > 0 and two["failures"] == 0 and two["per_second"] > 0
    assert 0 < speed["turn_to_parse_and_lookup_ratio_p50"] < speed["turn_to_parse_ratio_p50"]
    assert isinstance(speed["tensorflow_loaded"], bool)
    if speed["tensorflow_loaded"]:
        assert (
            speed["tensorflow_import"]["import_seconds"] > 0 and speed["tensorflow_import"]["memory_mb"] > 50
        )


def test_the_report_shows_the_measured_figures_and_its_plots(bench_smoke_run: tuple[Path, str]) -> None:
    out, printed = bench_smoke_run
    speed = json.loads((out / "speed.json").read_text())
    report = (out / "benchmarks.md").read_text()
    ratio = f"**{speed['turn_to_parse_ratio_p50']:.2f}x**"
    assert ratio in report and ratio in printed
    for image in ("turn-latency.png", "throughput.png"):
        assert f"(benchmarks/{image})" in report
        assert (out / "benchmarks" / image).read_bytes().startswith(PNG_SIGNATURE)
    assert (
        not (PROJECT_ROOT / "docs" / "benchmarks.md").exists()
        or "smoke" not in (PROJECT_ROOT / "docs" / "benchmarks.md").read_text()
    )


def test_the_report_sets_each_target_against_its_measured_figure(bench_smoke_run: tuple[Path, str]) -> None:
    out, _ = bench_smoke_run
    speed = json.loads((out / "speed.json").read_text())
    report = (out / "benchmarks.md").read_text()
    start_up = speed["rasa_start_to_first_answer_seconds"]
    verdict = "**met**" if start_up <= 10 else "**not met**"
    assert f"| Rasa server from start to first answer within 10 s | {verdict} | {start_up:.1f} s |" in report
    assert "at least 100 turns/s at 32 conversations (two Rasa servers) | **not met** | n/a |" in report
    assert "## Side by side" in report and "TensorFlow" in report


def test_the_side_by_side_marks_targets_met_and_not_met() -> None:
    from bench.report import _side_by_side

    def run(start: float, mb: float, turn: float, two_servers: float) -> dict:
        return {
            "parse": {"p50_ms": 4.0},
            "lookup": {"p50_ms": 2.0},
            "turns": {
                "1": {"p50_ms": turn, "p95_ms": turn},
                "32": {"p50_ms": 100.0, "p95_ms": 200.0, "per_second": 50.0},
            },
            "turns_two_servers": {"32": {"per_second": two_servers}},
            "turn_to_parse_ratio_p50": turn / 4.0,
            "turn_to_parse_and_lookup_ratio_p50": turn / 6.0,
            "rasa_start_to_first_answer_seconds": start,
            "peak_memory_mb": {"rasa_server": mb},
            "tensorflow_loaded": False,
        }

    good = "\n".join(_side_by_side(run(9.0, 500.0, 8.0, 120.0), {"previous": run(30.0, 1200.0, 27.0, 40.0)}))
    assert good.count("**met**") == 4 and "**not met**" not in good
    assert "| Rasa server, start to first answer (s) | 9.0 | 30.0 |" in good
    bad = "\n".join(_side_by_side(run(11.0, 580.0, 10.0, 99.0), {}))
    assert bad.count("**not met**") == 4  # 580 MiB is 608 MB


def test_percentiles_are_nearest_rank_and_never_interpolated() -> None:
    values = [float(n) for n in range(1, 101)]
    assert [percentile(values, p) for p in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 1000.0], 50) == 1.0


def test_throughput_counts_answered_messages_over_the_whole_level() -> None:
    measured = Latencies(seconds=[0.1] * 30, wall_seconds=2.0, failures=3)
    summary = measured.summary()
    assert summary["per_second"] == 15.0 and summary["failures"] == 3 and summary["requests"] == 30


def test_emergency_counts_come_from_the_red_flag_intent_s_scores() -> None:
    from bench.report import _red_flag_counts

    baseline = {"intent": {"per_intent": {"red_flag": {"precision": 9 / 11, "recall": 0.9, "support": 10}}}}
    assert _red_flag_counts(baseline) == (10, 9, 2)
    perfect = {"intent": {"per_intent": {"red_flag": {"precision": 1.0, "recall": 1.0, "support": 10}}}}
    assert _red_flag_counts(perfect) == (10, 10, 0)
    assert _red_flag_counts(None) is None


def test_the_speed_run_sends_the_held_out_questions_as_typed_without_annotations() -> None:
    messages = patient_messages()
    assert len(messages) >= 150
    assert [m for m in messages if "[" in m or "{" in m] == []  # "[rebif]{...}" is typed as "rebif"
    assert "did lots of ppl relapse on rebif" in messages


def test_a_long_conversation_ends_with_the_questions_it_began_with() -> None:
    """Turn 400 is compared with turn 10 on the same questions, or the comparison measures which
    questions fell at each end: some answers take far longer to compose than others."""
    questions = [f"question {number}" for number in range(233)]
    script = long_conversation_script(questions, 400)

    assert len(script) == 400
    assert script[LATE_TURNS] == script[EARLY_TURNS] == questions[5:15]
    assert script[15:390] == [questions[turn % 233] for turn in range(15, 390)]
