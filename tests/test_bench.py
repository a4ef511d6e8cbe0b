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
