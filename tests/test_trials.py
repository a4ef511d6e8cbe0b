"""Two trials from their knowledge files: CARE-MS I (people new to MS treatment) beside
CARE-MS II (people whose MS relapsed on earlier treatment).

A question scoped to a trial, by its name or by the people in it, gets that trial's figures. A
question naming none is answered for the default trial and says which other trial it could ask
about. "Both trials" puts them side by side. Whether a difference could be due to chance comes
from the stored interval and p-value, so it is right for every trial, not written for one.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from actions.actions import ActionAnswerQuestion
from actions.advice import ActionPersonalAdvice
from actions.answers import COMPARE_WITHIN_TRIALS, compose_answer
from actions.asked import CHANCE
from actions.database import DB_URL_VARIABLE
from actions.explain import explain_last_answer
from actions.loader import load_knowledge
from actions.phrasing import is_significant
from actions.store import KnowledgeStore
from tests.helpers import PROJECT_ROOT, every_answer, run_action, source_line, texts, tracker_from

FACTS_SHEET = PROJECT_ROOT / "docs" / "sources" / "trial-facts.md"
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![A-Za-z])")

CARE_MS_I = {"entity": "trial", "value": "care-ms-i"}
CARE_MS_II = {"entity": "trial", "value": "care-ms-ii"}
BOTH = {"entity": "trial", "value": "both"}
OTHER = {"entity": "trial", "value": "other"}
ALEMTUZUMAB = {"entity": "treatment", "value": "alemtuzumab"}
DISABILITY = {"entity": "outcome", "value": "disability"}

answer = ActionAnswerQuestion()


def ask(intent: str, text: str = "", entities=None, slots=None) -> tuple[list[str], dict]:
    """What the patient is sent, and the slots the answer set."""
    messages, events = run_action(answer, tracker_from(intent, text, entities, slots))
    return texts(messages), {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def care_ms_i_facts() -> str:
    """The facts sheet's CARE-MS I section: the only place its figures may come from."""
    sheet = FACTS_SHEET.read_text()
    return sheet.split("## CARE-MS I ")[1].split("\n## ")[0]


@pytest.fixture(scope="module")
def numbers_said_about_care_ms_i(knowledge_url: str) -> set[Decimal]:
    """Every number in every answer to a question asked about CARE-MS I alone, and in "how sure is
    this?" after one (the short answer leaves the intervals to it)."""
    said = "\n".join(
        text for where, text in every_answer(knowledge_url) if where.endswith(("/ care-ms-i", "in care-ms-i"))
    )
    return {Decimal(number) for number in NUMBER.findall(said)}


# What this trial's file holds: the facts sheet's CARE-MS I table.
@pytest.mark.parametrize("figure", sorted(set(NUMBER.findall(care_ms_i_facts())), key=float))
def test_every_care_ms_i_figure_on_the_facts_sheet_is_said_when_asked_about_care_ms_i(
    numbers_said_about_care_ms_i: set[Decimal], figure: str
) -> None:
    assert Decimal(figure) in numbers_said_about_care_ms_i


def test_the_facts_sheet_copy_is_the_one_the_project_checks_against() -> None:
    shared = PROJECT_ROOT.parent / "shared" / "facts" / "trials.md"
    if not shared.exists():
        pytest.skip("the shared facts sheet is not beside this checkout")
    assert FACTS_SHEET.read_text() == shared.read_text()


@pytest.mark.parametrize(
    "words, keys",
    [
        ("how many relapsed in CARE-MS I?", ["care-ms-i"]),
        ("how many relapsed in care ms ii", ["care-ms-ii"]),
        ("what was carems1 about", ["care-ms-i"]),
        ("CARE-MS 2 results", ["care-ms-ii"]),
        ("in people who had not been treated before", ["care-ms-i"]),
        ("people who hadn't been treated before", ["care-ms-i"]),
        ("I have never been treated, did it help people like me?", ["care-ms-i"]),
        ("in people who relapsed on earlier treatment", ["care-ms-ii"]),
        ("compare care ms 1 with care ms 2", ["care-ms-i", "care-ms-ii"]),
        ("what were the CARE-MS trials", []),
        ("what was CARE-MS III", []),
        ("what was caremsiii", []),
        ("what treatment did they have", []),
        # A description of the people, misspelt, is still found; a name or number never is.
        ("results for people new to treatmnt?", ["care-ms-i"]),
        ("people who have never been tretaed", ["care-ms-i"]),
        ("was it already tested in people like me", []),
        ("rebif relapse % in the newbie trial", ["care-ms-i"]),
        ("and for people who had already been on other drugs?", ["care-ms-ii"]),
        ("I have never been on other drugs", []),
    ],
)
def test_a_trial_is_found_by_its_name_or_its_people_and_never_by_a_near_spelling_of_its_name(
    store: KnowledgeStore, words: str, keys: list[str]
) -> None:
    assert [trial.key for trial in store.find_trials(words)] == keys


# Scoped questions get that trial's figures.
def test_a_question_naming_care_ms_i_gets_care_ms_i_figures_and_no_others(use_store) -> None:
    sent, slots = ask("ask_relapse", "how many people relapsed in CARE-MS I?", [CARE_MS_I])
    assert re.match(
        r"In the CARE-MS I trial, here is how many people [^.]*\. On alemtuzumab 12 mg[^,]*, about 22 in 100",
        sent[0],
    )
    assert "about 40 in 100" in sent[0]
    assert not any("35" in text or "CARE-MS II trial" in text.split("Safety note")[0] for text in sent[:1])
    assert "The CARE-MS I paper by Cohen" in sent[-1]
    assert slots["trial"] == ["care-ms-i"]


def test_the_people_in_a_trial_scope_a_question_even_without_an_entity(use_store) -> None:
    new_to_treatment, _ = ask("ask_relapse_rate", "relapse rate in people who had never been treated?")
    relapsed_before, _ = ask("ask_relapse_rate", "relapse rate in people who relapsed on earlier treatment?")
    assert new_to_treatment[0].startswith("In the CARE-MS I trial") and "0.18" in new_to_treatment[0]
    assert relapsed_before[0].startswith("In the CARE-MS II trial") and "0.26" in relapsed_before[0]


@pytest.mark.parametrize(
    "text, entities, key",
    [
        ("relapse rate in care ms 2 sorry i mean care ms 1", [CARE_MS_II, CARE_MS_I], "care-ms-i"),
        ("relapse rate in CARE-MS I - no, II", [CARE_MS_I], "care-ms-ii"),
        ("care ms1 relapse rate, oops i mean care ms2", [CARE_MS_I, CARE_MS_II], "care-ms-ii"),
        ("relapse rate in CARE-MS I not II", [CARE_MS_I, CARE_MS_II], "care-ms-i"),
        (
            "relapse rate in the first trial, actually I meant the people who had already been treated",
            [CARE_MS_I],
            "care-ms-ii",
        ),
    ],
)
def test_a_message_that_corrects_its_trial_is_answered_for_the_trial_it_settles_on(
    use_store, text: str, entities: list, key: str
) -> None:
    sent, slots = ask("ask_relapse_rate", text, entities)
    name, figure, other_figure = (
        ("CARE-MS I", "0.18", "0.26") if key == "care-ms-i" else ("CARE-MS II", "0.26", "0.18")
    )
    assert sent[0].startswith(f"In the {name} trial") and figure in sent[0] and other_figure not in sent[0]
    assert slots["trial"] == [key]


@pytest.mark.parametrize(
    "text", ["no I meant the injections", "sorry, I meant the drip group", "no, I want the drip"]
)
def test_the_word_i_in_a_correction_is_not_care_ms_i(use_store, text: str) -> None:
    _, slots = ask("inform_treatment", text, [], {"trial": ["care-ms-ii"], "topic": "relapse"})
    assert slots.get("trial", ["care-ms-ii"]) == ["care-ms-ii"]


@pytest.mark.parametrize(
    "text, key",
    [
        ("relapse rate for people just diagnosed, no medicine before?", "care-ms-i"),
        ("relapse rate, first time on treatment", "care-ms-i"),
        ("relapse rate for those who had never taken an MS drug", "care-ms-i"),
        ("relapse rate for ppl whose ms came back on interferon", "care-ms-ii"),
        ("the trial for people where other drugs failed, relapse rate?", "care-ms-ii"),
        ("relapse rate for patients who relapsed on their first treatment", "care-ms-ii"),
        ("no i mean the people whod relapsed before on other drugs", "care-ms-ii"),
        ("and the people who had other treatment before, is it the same?", "care-ms-ii"),
        (
            "my dad already tried interferon and then copaxone. relapse rate for people like him?",
            "care-ms-ii",
        ),
        ("my husband was diagnosed in 2019 and went on avonex. what is the relapse rate", "care-ms-ii"),
        ("for a person who took interferon before and had relapse anyway, the relapse rate?", "care-ms-ii"),
        ("the trial for people whose ms broke through their first treatment, relapse rate?", "care-ms-ii"),
        ("i never took any ms medicine. relapse rate in patients like me?", "care-ms-i"),
        ("I have received no disease-modifying therapy whatsoever. The relapse rate?", "care-ms-i"),
        ("my dad wasn't on any ms meds before, relapse rate in his kind of trial", "care-ms-i"),
        ("my daughter has never taken any ms medication. which trial is relevant to her?", "care-ms-i"),
        ("not the trial for newly diagnosed people, the other one. relapse rate?", "care-ms-ii"),
        ("i was treated with interferon and relapsed twice. which of the two studies is mine?", "care-ms-ii"),
        ("im on copaxone and relapsed twice, which trial is me? relapse rate?", "care-ms-ii"),
        (
            "before I asked about new patients, but now I want the patients with previous treatment",
            "care-ms-ii",
        ),
        ("the relapse rate in the first-line study?", "care-ms-i"),
        (
            "not the people who'd never had treatment the ones who'd had interferon before and relapsed",
            "care-ms-ii",
        ),
        (
            "relapse rate in the first-line trial? oh no, I got it wrong, I need the one for people already treated",
            "care-ms-ii",
        ),
        ("relapse rate in the trial for new patients?", "care-ms-i"),
        ("what was the relapse rate in the new patient study", "care-ms-i"),
        ("relapse rate for people who were new to meds", "care-ms-i"),
        ("she only got diagnosed in may. relapse rate for people like her?", "care-ms-i"),
        ("relapse rate in the already treated trial", "care-ms-ii"),
        ("the previously-treated study, relapse rate?", "care-ms-ii"),
    ],
)
def test_a_group_described_by_its_treatment_so_far_decides_the_trial(use_store, text: str, key: str) -> None:
    """Remembering the other trial does not win over the people the question describes."""
    other = "care-ms-ii" if key == "care-ms-i" else "care-ms-i"
    _, slots = ask("ask_relapse_rate", text, [], {"trial": [other]})
    assert slots["trial"] == [key]


@pytest.mark.parametrize(
    "text, medicine",
    [
        ("i was on betaferon and still relapsed, what were the results for people like me", "betaferon"),
        ("the results for people like me who relapsed on copaxone?", "copaxone"),
        ("im on copaxone and relapsed twice, what are the results for people like me", "copaxone"),
    ],
)
def test_a_medicine_in_the_person_s_own_story_is_not_the_one_asked_about(
    use_store, text: str, medicine: str
) -> None:
    """They ask how people like them did, not about the medicine they had, which neither trial gave."""
    start = text.index(medicine)
    entities = [{"entity": "treatment", "value": medicine, "start": start, "end": start + len(medicine)}]
    sent, slots = ask("ask_results", text, entities)
    assert sent[0].startswith("Here are the main results of CARE-MS II"), sent[0]
    assert slots["treatment"] is None


@pytest.mark.parametrize(
    "text, named",
    [
        ("Is a stem cell transplant (HSCT) better than alemtuzumab?", "a stem cell transplant (HSCT)"),
        ("did lemtrada do better than ocrevus in the trial?", "ocrelizumab"),
    ],
)
def test_a_medicine_weighed_against_the_trial_s_says_the_trial_had_no_group_on_it(
    use_store, text: str, named: str
) -> None:
    sent, _ = ask("ask_results", text, [ALEMTUZUMAB])
    assert sent[0].startswith(f"The CARE-MS II trial did not have a group on {named}."), sent[0]
    assert not any("35 in 100" in said for said in sent)


def test_two_groups_of_people_compared_get_both_trials(use_store) -> None:
    text = "how did people who had never been treated compare with people whod been on other drugs?"
    sent, slots = ask("ask_relapse", text, [CARE_MS_I])
    assert sent[0].startswith("Here are the trials side by side")
    assert sorted(slots["trial"]) == ["care-ms-i", "care-ms-ii"]


def test_how_many_relapsed_on_a_trial_medicine_asks_about_its_group_not_a_population(use_store) -> None:
    _, slots = ask("ask_relapse", "how many patients who relapsed on rebif?", [], {"trial": ["care-ms-i"]})
    assert slots.get("trial", ["care-ms-i"]) == ["care-ms-i"]


@pytest.mark.parametrize(
    "intent, text",
    [
        ("ask_results", "how did lemtrada do compared with no treatment at all?"),
        ("ask_relapse", "compared to just doing nothing how much does lemtrada cut relapses"),
        ("ask_trial_overview", "was there a placebo group in the lemtrada trial?"),
        ("ask_relapse_rate", "relapse rate on alemtuzumab versus placebo"),
    ],
)
def test_a_comparison_with_no_treatment_says_there_was_no_such_group(
    use_store, intent: str, text: str
) -> None:
    """Both trials compared two medicines; a figure against no treatment would be a guess."""
    sent, _ = ask(intent, text, [ALEMTUZUMAB])
    assert sent[0].startswith("Neither trial had a group with no treatment. There was no placebo group."), (
        sent[0]
    )
    assert "interferon beta-1a" in sent[0]
    assert not any("35 in 100" in said or "0.26" in said for said in sent)


def test_a_question_naming_no_trial_is_answered_for_care_ms_ii_and_says_so(use_store) -> None:
    sent, slots = ask("ask_relapse", "how many people relapsed on alemtuzumab?", [ALEMTUZUMAB])
    assert re.match(
        r"In the CARE-MS II trial, here is how many people [^.]*\. On [^,]+, about 35 in 100",
        sent[0],
    )
    terminal = texts(
        asked_on("cmdline", "ask_relapse", "how many people relapsed on alemtuzumab?", [ALEMTUZUMAB])
    )
    assert '"and in CARE-MS I?"' in terminal[-1] and '"in both trials?"' in terminal[-1]
    assert slots["trial"] == ["care-ms-ii"]


def test_the_next_question_stays_with_the_trial_the_conversation_is_about(use_store) -> None:
    sent, slots = ask("ask_disability", "and disability?", [DISABILITY], {"trial": ["care-ms-i"]})
    assert sent[0].startswith("In the CARE-MS I trial")
    assert slots["trial"] == ["care-ms-i"]


def test_a_follow_up_naming_only_a_trial_answers_the_same_question_for_it(use_store) -> None:
    sent, _ = ask("inform_trial", "and in CARE-MS I?", [CARE_MS_I], {"topic": "relapse_free"})
    assert re.match(
        r"In the CARE-MS I trial, here is how many people [^.]*\. On alemtuzumab 12 mg[^,]*, about 78 in 100",
        sent[0],
    )
    assert "(77.6%)" in sent[0]


def test_the_other_trial_is_the_one_not_talked_about_yet(use_store) -> None:
    sent, slots = ask(
        "inform_trial", "and the other trial?", [OTHER], {"topic": "relapse_rate", "trial": ["care-ms-ii"]}
    )
    assert sent[0].startswith("In the CARE-MS I trial") and "0.18" in sent[0]
    assert slots["trial"] == ["care-ms-i"]


def test_a_first_message_naming_only_a_trial_says_what_the_trial_was(use_store) -> None:
    sent, _ = ask("inform_trial", "what about CARE-MS I?", [CARE_MS_I])
    assert sent[0].startswith("CARE-MS I was a large trial that lasted 2 years.")


def test_a_trial_without_figures_on_a_topic_says_so_and_gives_the_other_trials(use_store) -> None:
    sent, _ = ask("ask_infusion_reactions", "infusion reactions in CARE-MS I?", [CARE_MS_I])
    assert sent[0] == "I don't have checked facts on this from the CARE-MS I trial, so I won't guess."
    assert sent[1] == "Here is what the CARE-MS II trial found."
    assert sent[2].startswith("In the CARE-MS II trial, about 90 in 100 people on alemtuzumab 12 mg")


# Not statistically significant: said honestly, from the stored interval and p-value.
def test_did_alemtuzumab_reduce_disability_in_people_new_to_treatment(use_store) -> None:
    sent, _ = ask(
        "ask_disability",
        "Did alemtuzumab reduce disability in people new to treatment?",
        [ALEMTUZUMAB, DISABILITY],
    )
    said = sent[0]
    assert said.startswith(
        "In the CARE-MS I trial, there was no clear difference between the groups in disability getting "
        "worse for 6 months. It could be due to chance. So it is not proven."
    )
    how_sure = ask("ask_chance", "how sure is this?", [], {"topic": "disability", "trial": ["care-ms-i"]})[0][
        1
    ]
    assert "hazard ratio 0.70, 95% confidence interval 0.40 to 1.23" in how_sure
    assert "could really be lower. Or it could be about the same, or higher" in how_sure
    assert "could be due to chance (p=0.22)" in how_sure
    assert "did not show that alemtuzumab 12 mg was better or worse than interferon beta-1a" in how_sure
    for claim in ("improvement", "reduced", "% lower", "unlikely to be due to chance"):
        assert claim not in said and claim not in how_sure


@pytest.mark.parametrize("trial_key", ["care-ms-i", "care-ms-ii"])
def test_each_trial_s_disability_verdict_follows_its_stored_interval_and_p_value(
    use_store, store: KnowledgeStore, trial_key: str
) -> None:
    trial = next(trial for trial in store.trials() if trial.key == trial_key)
    (endpoint,) = [
        e for e in store.endpoints_on(trial, "disability") if e.comparisons and e.comparisons[0].measure
    ]
    comparison = endpoint.comparisons[0]
    interval_excludes_no_difference = comparison.ci_upper < 1 or comparison.ci_lower > 1
    said = ask("ask_disability", "disability?", [], {"trial": [trial_key]})[0][0]
    how_sure = ask("ask_chance", "how sure is this?", [], {"topic": "disability", "trial": [trial_key]})[0][1]

    assert is_significant(comparison) is interval_excludes_no_difference
    assert ("unlikely to be due to chance" in said) is interval_excludes_no_difference
    assert ("no clear difference" in said) is not interval_excludes_no_difference
    assert ("improvement" in how_sure) is interval_excludes_no_difference
    # The words a patient may have read, after the plain verdict, in the detailed answer only.
    assert ("it was statistically significant" in how_sure) is interval_excludes_no_difference
    assert ("it was not statistically significant" in how_sure) is not interval_excludes_no_difference
    assert "significant" not in said


def test_changing_the_stored_figures_changes_the_verdict_and_nothing_else_is_needed(
    knowledge_copy: Path, tmp_path: Path
) -> None:
    """Swap which trial's disability result is clear: the answers swap with it."""
    edits = {
        "care-ms-i.yml": {"ci_upper": 0.95, "value": 0.70, "p_value": "0.03"},
        "care-ms-ii.yml": {"ci_upper": 1.10, "value": 0.58, "p_value": "0.09"},
    }
    for name, figures in edits.items():
        path = knowledge_copy / "trials" / name
        trial = yaml.safe_load(path.read_text())
        disability = next(e for e in trial["endpoints"] if e["key"] == "sustained-accumulation-of-disability")
        disability["comparisons"][0].update(figures)
        path.write_text(yaml.safe_dump(trial, sort_keys=False))
    url = f"sqlite:///{tmp_path / 'swapped.db'}"
    load_knowledge(knowledge_copy, url)

    with KnowledgeStore.open(url) as store:
        trials = {trial.key: trial for trial in store.trials()}
        care_ms_i = " ".join(compose_answer(store, "disability", trials=[trials["care-ms-i"]]) or [])
        care_ms_ii = " ".join(compose_answer(store, "disability", trials=[trials["care-ms-ii"]]) or [])
        how_sure = {
            key: " ".join(explain_last_answer(store, trials[key], "disability", None, CHANCE) or [])
            for key in trials
        }
    assert "unlikely to be due to chance" in care_ms_i and "no clear difference" not in care_ms_i
    assert "unlikely to be due to chance (p=0.03)" in how_sure["care-ms-i"]
    assert (
        "In the CARE-MS II trial, there was no clear difference between the groups in disability"
        in care_ms_ii
    )
    assert "could be due to chance (p=0.09)" in how_sure["care-ms-ii"]
    assert "improvement" not in how_sure["care-ms-ii"]
    assert "42% difference is a relative figure" in how_sure["care-ms-ii"]


# Both trials side by side.
def test_how_did_alemtuzumab_do_in_both_trials_puts_them_side_by_side(use_store) -> None:
    sent, slots = ask("ask_trial_overview", "How did alemtuzumab do in both trials?", [ALEMTUZUMAB, BOTH])
    assert sent[0].startswith("Here are the trials side by side. CARE-MS II included people")
    assert (
        "CARE-MS I included people with relapsing-remitting MS. This is MS that comes and goes. None of them"
        in sent[0]
    )
    by_title = {text.splitlines()[0]: text.splitlines()[1:] for text in sent if "\n- " in text}
    assert list(by_title) == [
        "Having a relapse.",
        "Staying free of relapses.",
        "Relapse rate.",
        "Disability getting worse for 6 months.",
    ]
    relapses = by_title["Having a relapse."]
    assert relapses == [
        "- CARE-MS II: On alemtuzumab 12 mg, about 35 in 100 (35%). On interferon beta-1a, about 51 in 100 (51%).",
        "- CARE-MS I: On alemtuzumab 12 mg, about 22 in 100 (22%). On interferon beta-1a, about 40 in 100 (40%).",
    ]
    care_ms_ii_disability, care_ms_i_disability = by_title["Disability getting worse for 6 months."]
    assert "unlikely to be due to chance (hazard ratio 0.58" in care_ms_ii_disability
    assert "No clear difference: it could be due to chance (hazard ratio 0.70, " in care_ms_i_disability
    assert "95% confidence interval 0.40 to 1.23, p=0.22)" in care_ms_i_disability
    assert any(text.startswith("The CARE-MS I team summed it up like this.") for text in sent)
    assert COMPARE_WITHIN_TRIALS in sent
    caveat = next(text for text in sent if text.startswith("Safety note"))
    assert "these figures are from the CARE-MS II trial. On alemtuzumab 12 mg, about 90 in 100" in caveat
    assert "Cohen" in source_line(sent) and "Coles" in source_line(sent)
    assert slots["trial"] == ["care-ms-ii", "care-ms-i"]


def test_both_trials_are_understood_from_the_words_alone(use_store) -> None:
    sent, _ = ask("ask_relapse_rate", "what was the relapse rate in both trials")
    table = next(text for text in sent if text.startswith("Relapse rate."))
    assert "- CARE-MS II: On alemtuzumab 12 mg, 0.26 relapses a year on average." in table
    assert "- CARE-MS I: On alemtuzumab 12 mg, 0.18 relapses a year on average." in table
    assert "unlikely to be due to chance (rate ratio 0.45, 95% confidence interval 0.32 to 0.63)" in table


def test_a_topic_one_trial_did_not_measure_says_so_beside_the_other(use_store) -> None:
    sent, _ = ask("ask_infections", "infections in both trials?", [BOTH])
    table = next(text for text in sent if text.startswith("Mild to moderate infections."))
    assert "- CARE-MS II: On alemtuzumab 12 mg, about 77 in 100 (77%)." in table
    assert "- CARE-MS I: I don't have checked figures on this." in table


# The safety note and advice follow the trial too.
def test_the_safety_note_under_care_ms_i_names_the_trial_its_figures_come_from(use_store) -> None:
    sent, _ = ask("ask_relapse_rate", "relapse rate in CARE-MS I", [CARE_MS_I])
    caveat = next(text for text in sent if text.startswith("Safety note"))
    assert "these figures are from the CARE-MS II trial. On alemtuzumab 12 mg, about 90 in 100" in caveat
    assert "every month, for 48 months" in caveat


def test_advice_for_someone_new_to_treatment_gives_care_ms_i_facts(use_store) -> None:
    messages, _ = run_action(
        ActionPersonalAdvice(),
        tracker_from(
            "ask_personal_advice", "I'm new to treatment, should I take alemtuzumab?", [ALEMTUZUMAB]
        ),
    )
    sent = texts(messages)
    assert sent[0].startswith("I can't decide that for you")
    assert any(text.startswith("In the CARE-MS I trial") for text in sent)


# The next trial needs no code: a made-up third trial, in a copy of the files only.
INVENTED_TRIAL = """
review:
  kind: source check
  reviewed_on: 2026-12-02
  reviewed_by: content editor
  next_review_due: 2027-06-02
trial:
  key: invented-trial
  name: INVENTED
  aliases: [invented study]
  title: A trial made up for this test
  design: a trial made up for this test
  population: people made up for this test
  allocation: People were put into groups by chance
  conclusion: This trial is made up
  sources: [GLOSSARY]
arms:
  - {key: interferon, treatment: interferon-beta-1a, name: interferon beta-1a, role: comparator, sources: [GLOSSARY]}
  - {key: alemtuzumab-12mg, treatment: alemtuzumab, name: alemtuzumab 12 mg, role: experimental,
     sources: [GLOSSARY]}
endpoints:
  - key: annualised-relapse-rate
    topic: relapse_rate
    name: annualised relapse rate
    plain_name: relapse rate
    outcome_phrase: relapses a year
    definition: The average number of relapses a person had in one year.
    category: efficacy
    better_when: lower
    results:
      - {arm: interferon, value: 0.61, unit: per person per year, estimate: annualised rate, sources: [GLOSSARY]}
      - {arm: alemtuzumab-12mg, value: 0.33, unit: per person per year, estimate: annualised rate,
         sources: [GLOSSARY]}
"""


def test_a_third_trial_is_answered_from_its_file_alone(
    knowledge_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (knowledge_copy / "trials" / "invented.yml").write_text(INVENTED_TRIAL)
    url = f"sqlite:///{tmp_path / 'three.db'}"
    load_knowledge(knowledge_copy, url)
    monkeypatch.setenv(DB_URL_VARIABLE, url)

    scoped, _ = ask("ask_relapse_rate", "relapse rate in the invented study?")
    assert scoped[0].startswith("In the INVENTED trial, people on alemtuzumab 12 mg had 0.33 relapses a year")
    unscoped = texts(asked_on("cmdline", "ask_relapse_rate", "what was the relapse rate?"))
    assert (
        '"and in CARE-MS I?", "and in INVENTED?"' in unscoped[-1] and '"in all the trials?"' in unscoped[-1]
    )
    side_by_side, _ = ask("ask_relapse_rate", "relapse rate in all the trials")
    table = next(text for text in side_by_side if text.startswith("Relapse rate."))
    assert [line.split(":")[0] for line in table.splitlines()[1:]] == [
        "- CARE-MS II",
        "- CARE-MS I",
        "- INVENTED",
    ]


# Quick replies to hear the other trial, where the channel has buttons.
def asked_on(channel: str, intent: str, text: str, entities=None) -> list[dict]:
    return run_action(answer, tracker_from(intent, text, entities, channel=channel))[0]


def test_an_answer_for_the_default_trial_offers_the_other_trial_and_both_as_quick_replies(use_store) -> None:
    sent = asked_on("socketio", "ask_relapse", "how many relapsed?")
    assert [message.get("buttons") for message in sent[:-1]] == [[]] * (len(sent) - 1)
    assert source_line(texts(sent))
    assert sent[-1]["buttons"] == [
        {"title": "How sure is this?", "payload": "/ask_chance"},
        {"title": "The risks in full", "payload": "/ask_side_effects"},
        {"title": "In CARE-MS I", "payload": '/inform_trial{"trial": "care-ms-i"}'},
        {"title": "Both trials side by side", "payload": '/inform_trial{"trial": "both"}'},
        {"title": "What happened after the trial", "payload": "/ask_long_term"},
        {"title": "Sources", "payload": "/ask_source"},
    ]


def test_pressing_a_trial_quick_reply_answers_the_same_question_for_that_trial(use_store) -> None:
    payload = '/inform_trial{"trial": "both"}'
    sent, slots = ask("inform_trial", payload, [BOTH], {"topic": "relapse", "trial": ["care-ms-ii"]})
    assert next(text for text in sent if text.startswith("Having a relapse.")).count("\n- ") == 2
    assert slots["trial"] == ["care-ms-ii", "care-ms-i"]


@pytest.mark.parametrize(
    "channel, intent, text, entities",
    [
        ("cmdline", "ask_relapse", "how many relapsed?", []),  # the terminal: named in words instead
        ("socketio", "ask_relapse", "how many relapsed in CARE-MS I?", [CARE_MS_I]),  # a trial was named
        ("socketio", "ask_mechanism", "how does alemtuzumab work?", [ALEMTUZUMAB]),  # the same in every trial
    ],
)
def test_no_trial_quick_replies_where_they_would_not_help(use_store, channel, intent, text, entities) -> None:
    buttons = [
        button
        for message in asked_on(channel, intent, text, entities)
        for button in message.get("buttons") or []
    ]
    assert not [button for button in buttons if button["payload"].startswith("/inform_trial")]


def test_the_model_taking_an_ordinary_other_for_the_other_trial_does_not_switch_trial(use_store) -> None:
    sent, _ = ask("ask_infections", "were there other infections?", [OTHER], {"trial": ["care-ms-ii"]})
    assert sent[0].startswith("In the CARE-MS II trial, about 77 in 100")
