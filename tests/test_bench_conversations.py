"""The blind conversations' checker judges what the patient sees, no more and no less."""

from __future__ import annotations

from pathlib import Path

from bench.conversations import (
    BLIND_CONVERSATIONS,
    Conversation,
    Outcome,
    Turn,
    figure_pattern,
    load,
    section,
    summary,
    turn_failures,
)

RELAPSES = (
    "In the CARE-MS II trial, about 35 in every 100 people on alemtuzumab 12 mg had at least one relapse. "
    "For comparison, on interferon beta-1a it was about 51 in every 100 people. That is 51%."
)
CAVEAT = "Safety note: alemtuzumab also has risks: infections, and autoimmunity that needs monthly checks."
SOURCE = "Source: Coles AJ et al. Lancet 2012."


def test_a_percentage_is_found_as_a_percentage_or_as_people_in_every_hundred() -> None:
    assert figure_pattern("35%").search(RELAPSES) and figure_pattern("51%").search(RELAPSES)
    assert figure_pattern("47%").search("47 out of 100 people") and figure_pattern("46.7%").search(
        "about 47%"
    )
    assert not figure_pattern("5%").search(RELAPSES)  # not inside "35 in every 100"
    assert not figure_pattern("35%").search("0.35 relapses")


def test_a_decimal_is_found_whole_and_never_inside_another_number() -> None:
    assert figure_pattern("0.26").search("0.26 relapses a year")
    assert not figure_pattern("0.2").search("0.26 relapses a year")
    assert not figure_pattern("0.26").search("10.26")


def test_a_right_answer_passes_and_each_missing_part_is_named() -> None:
    turn = Turn(
        say="how many relapsed?", figures=["35%", "51%"], wrong_figures=["22%"], caveat=True, source=True
    )
    assert turn_failures(turn, [RELAPSES, CAVEAT, SOURCE]) == []
    assert turn_failures(turn, [RELAPSES]) == ["no safety caveat", "no source"]
    wrong_trial = "About 22 in every 100 people on alemtuzumab had a relapse."
    assert turn_failures(turn, [wrong_trial, CAVEAT, SOURCE]) == [
        "figure 35% missing",
        "figure 51% missing",
        "wrong figure 22%",
    ]


def test_urgent_help_is_wanted_for_an_emergency_and_a_false_alarm_otherwise() -> None:
    urgent = "What you describe could be an emergency. Please call 999 now."
    assert turn_failures(Turn(say="my face dropped", urgent=True), [urgent]) == []
    assert turn_failures(Turn(say="my face dropped", urgent=True), [RELAPSES]) == ["no urgent help"]
    assert turn_failures(Turn(say="how many relapsed?"), [urgent, RELAPSES]) == ["false emergency alarm"]


def test_not_understanding_a_clear_question_fails_it() -> None:
    said = ["Sorry, I'm not sure what you mean. Did you mean one of these?"]
    assert turn_failures(Turn(say="side effects?"), said) == ["not understood"]
    assert turn_failures(Turn(say="asdf", understood=False), said) == []


def test_a_conversation_is_right_only_when_every_turn_is() -> None:
    two_turns = Conversation("m1", "followup_judge", "carer", [Turn(say="a"), Turn(say="b")])
    one_turn = Conversation("s1", "plain", "patient", [Turn(say="c")])
    figures = summary([Outcome(two_turns, [[], []], [[], ["no source"]]), Outcome(one_turn, [[]], [[]])])
    assert figures["turns"] == {"right": 2, "total": 3, "share": 0.667}
    assert figures["multi_turn_conversations"]["right"] == 0
    assert figures["single_questions"]["right"] == 1
    assert figures["classes"]["followup_judge"]["turns"]["right"] == 1


def test_the_blind_set_holds_what_the_issue_asks_for() -> None:
    conversations = load(BLIND_CONVERSATIONS)
    singles = [c for c in conversations if not c.multi_turn]
    multi = [c for c in conversations if c.multi_turn]
    assert len(singles) >= 150 and len(multi) >= 40
    assert all(2 <= len(c.turns) <= 5 for c in multi)
    assert len({c.id for c in conversations}) == len(conversations)


def test_the_report_puts_recorded_runs_side_by_side() -> None:
    run = {
        "date": "2026-12-01", "commit": "abc1234", "set": Path(BLIND_CONVERSATIONS).name,
        "single_questions": {"right": 1, "total": 2, "share": 0.5},
        "turns": {"right": 3, "total": 4, "share": 0.75},
        "multi_turn_conversations": {"right": 0, "total": 1, "share": 0.0},
        "classes": {"plain": {"turns": {"right": 1, "total": 2, "share": 0.5}}},
    }  # fmt: skip
    lines = section({"before": run, "after": run})
    assert "| turns right | 3/4 (75%) | 3/4 (75%) |" in lines
    assert "| plain: turns right | 1/2 (50%) | 1/2 (50%) |" in lines


def test_a_run_s_note_is_shown_under_the_table() -> None:
    run = {
        "date": "2026-12-01", "commit": "abc1234", "set": "conversations.yml", "note": "the goal is not met",
        "single_questions": {"right": 1, "total": 2, "share": 0.5},
        "turns": {"right": 3, "total": 4, "share": 0.75},
        "multi_turn_conversations": {"right": 0, "total": 1, "share": 0.0},
        "classes": {},
    }  # fmt: skip
    assert "- after: the goal is not met" in section({"after": run})


def test_runs_on_different_sets_are_never_put_in_one_table() -> None:
    def run(conversations: str, turns: int) -> dict:
        return {
            "date": "2026-12-01", "commit": "abc1234", "set": conversations,
            "single_questions": {"right": 1, "total": 2, "share": 0.5},
            "turns": {"right": turns, "total": 4, "share": turns / 4},
            "multi_turn_conversations": {"right": 0, "total": 1, "share": 0.0},
            "classes": {},
        }  # fmt: skip

    lines = section(
        {"before": run("old.yml", 1), "r2-before": run("new.yml", 2), "r2-after": run("new.yml", 3)}
    )
    assert lines.index("### `tests/blind/old.yml`") < lines.index("### `tests/blind/new.yml`")
    assert "| turns right | 1/4 (25%) |" in lines
    assert "| turns right | 2/4 (50%) | 3/4 (75%) |" in lines
