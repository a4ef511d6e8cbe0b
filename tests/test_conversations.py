"""The assistant end to end, through the real servers and the REST channel, as a program or a
chat widget sees it."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.helpers import source_line, texts

OPENING = "Hello. I'm an automated assistant"
_senders = itertools.count()


@pytest.fixture
def chat(live_bot):
    """A new conversation: its first message gets the opening notice, which is set aside (it
    comes first, or second when the message describes an emergency: urgent help comes first)."""
    sender = f"patient-{next(_senders)}"

    def say(text: str) -> list[dict]:
        replies = live_bot.say(sender, text)
        return [reply for reply in replies if not reply.get("text", "").startswith(OPENING)]

    return say


def test_a_new_conversation_opens_with_the_notice(live_bot) -> None:
    said = texts(live_bot.say("first-visit", "hi"))
    assert said[0].startswith(OPENING) and "not a doctor or nurse" in said[0]
    assert "don't share your name" in said[0]


def test_an_emergency_in_a_new_conversation_gets_urgent_help_before_the_notice(live_bot) -> None:
    """At once: the urgent reply does not wait for the conversation to be opened."""
    said = texts(live_bot.say("first-visit-emergency", "my face has dropped on one side right now"))
    assert said[0].startswith("What you describe could be an emergency") and said[1].startswith(OPENING)


def test_how_many_people_relapsed_on_alemtuzumab(chat) -> None:
    said = texts(chat("how many people relapsed on alemtuzumab?"))
    assert "35%" in said[0] and "51%" in said[0]
    assert said[0].index("35%") < said[0].index("51%")
    assert any(text.startswith("Safety note:") and "autoimmune" in text for text in said)
    assert source_line(said)


def test_a_follow_up_uses_what_was_asked_before(chat) -> None:
    chat("how many people relapsed on lemtrada")
    said = texts(chat("and on interferon?"))
    assert re.match(
        r"In the CARE-MS II trial, here is how many people [^.]*\. On interferon beta-1a[^,]*, about 51 in 100",
        said[0],
    )


def test_disability_in_people_new_to_treatment_is_honestly_not_a_clear_difference(chat) -> None:
    said = texts(chat("Did alemtuzumab reduce disability in people new to treatment?"))
    assert said[0].startswith("In the CARE-MS I trial, there was no clear difference between the groups")
    assert "improvement" not in said[0]
    how_sure = " ".join(texts(chat("how sure is this?")))  # the quick reply, typed
    assert "hazard ratio 0.70, 95% confidence interval 0.40 to 1.23" in how_sure
    assert "improvement" not in how_sure


def test_a_question_naming_no_trial_then_the_other_trial(chat) -> None:
    sent = chat("what was the relapse rate on alemtuzumab?")
    said = texts(sent)
    assert said[0].startswith("In the CARE-MS II trial") and "0.26" in said[0]
    assert {"title": "In CARE-MS I", "payload": '/inform_trial{"trial": "care-ms-i"}'} in sent[-1]["buttons"]
    said = texts(chat("and in CARE-MS I?"))
    assert said[0].startswith("In the CARE-MS I trial") and "0.18" in said[0]


def test_the_both_trials_quick_reply_puts_the_last_answer_side_by_side(chat) -> None:
    replies = chat("how many people relapsed?")
    both = next(b for b in replies[-1]["buttons"] if b["title"] == "Both trials side by side")
    said = texts(chat(both["payload"]))
    table = next(text for text in said if text.startswith("Having a relapse."))
    assert "- CARE-MS II: On alemtuzumab 12 mg, about 35 in 100" in table
    assert "- CARE-MS I: On alemtuzumab 12 mg, about 22 in 100" in table


def test_both_trials_side_by_side(chat) -> None:
    said = texts(chat("How did alemtuzumab do in both trials?"))
    assert said[0].startswith("Here are the trials side by side.")
    disability = next(text for text in said if text.startswith("Disability getting worse for 6 months."))
    assert "- CARE-MS II:" in disability and "- CARE-MS I:" in disability


def test_greeting_says_what_can_be_asked(chat) -> None:
    said = texts(chat("hi there"))
    assert "You can ask about relapses, disability and side effects. You can ask about check-ups" in said[0]


def test_a_button_payload_gets_the_answer(chat) -> None:
    said = texts(chat("/ask_disability"))
    assert "about 13 in 100 (13%)" in said[0]


def test_an_emergency_inside_a_question_gets_urgent_help_and_no_figures(chat) -> None:
    said = texts(chat("how many relapsed on lemtrada? also my lips are swelling up"))
    assert said == [said[0]] and "call 999, 112 or 911. Or call your local emergency number now" in said[0]
    assert "%" not in said[0]


def test_thoughts_of_self_harm_get_the_crisis_wording(chat) -> None:
    said = texts(chat("i dont want to be here anymore, i want to end it all"))
    assert "You matter" in said[0] and "call 999" in said[0]


def test_a_harmless_question_about_a_symptom_is_answered_normally(chat) -> None:
    said = texts(chat("how common were headaches after the infusion?"))
    assert not any(text.startswith("What you describe could be an emergency") for text in said)
    assert any("in 100 people" in text for text in said)


def test_personal_advice_is_declined_kindly(chat) -> None:
    said = texts(chat("should i switch from rebif to lemtrada?"))
    assert said[0].startswith("I can't decide that for you")
    assert "talking to your MS team" in said[-2]
    assert said[-1].startswith("If you'd like to talk to a person")


def test_a_group_that_did_not_exist_gets_an_honest_answer(chat) -> None:
    said = texts(chat("how many people relapsed on placebo?"))
    assert said[0].startswith("Neither trial had a group with no treatment. There was no placebo group.")
    assert not any("%" in text for text in said)


@pytest.mark.parametrize("nonsense", ["purple monkey dishwasher banana", "blah purple monkey"])
def test_an_unclear_message_gets_topics_to_choose_from_and_no_figure_and_no_alarm(
    chat, nonsense: str
) -> None:
    replies = chat(nonsense)
    said = texts(replies)
    assert any("not sure what you mean" in text or "can't help with that" in text for text in said)
    assert any(reply.get("buttons") for reply in replies)
    assert not any(text.startswith("What you describe could be an emergency") for text in said)
    assert not any("%" in text for text in said)


def test_what_are_the_side_effects_of_lemtrada_gets_every_risk(chat) -> None:
    said = " ".join(texts(chat("what are the side effects of lemtrada?")))
    assert "reaction to the drip (90%)" in said and "(77%)" in said and "thyroid" in said
    assert "at least 2 hours" in said and "stroke" in said and "Sorry" not in said


def test_is_lemtrada_better_than_rebif_gets_the_main_results_with_their_verdicts(chat) -> None:
    said = " ".join(texts(chat("is lemtrada better than rebif?")))
    assert "main results of CARE-MS II" in said and "(35%)" in said and "0.26" in said
    assert "unlikely to be due to chance" in said and "Safety note:" in said


def test_after_a_figure_is_that_a_lot_and_what_does_that_mean_explain_it(chat) -> None:
    chat("how many people relapsed on alemtuzumab?")
    judged = " ".join(texts(chat("is that a lot?")))
    assert "about 16 fewer in 100 on alemtuzumab 12 mg" in judged and "Goodbye" not in judged
    explained = " ".join(texts(chat("in plain English please")))
    assert "Think of 100 people in each group" in explained and "(51%)" in explained


def test_a_correction_answers_for_the_treatment_meant(chat) -> None:
    chat("how many people relapsed on alemtuzumab?")
    said = texts(chat("no, I meant the injections"))
    assert re.match(
        r"In the CARE-MS II trial, here is how many people [^.]*\. On interferon beta-1a[^,]*, about 51 in 100",
        said[0],
    )


def test_how_many_did_not_relapse_gets_the_relapse_free_figures(chat) -> None:
    said = texts(chat("how many did NOT relapse on lemtrada?"))
    assert "had no relapse at all" in said[0] and "65" in said[0]


def test_two_questions_in_one_message_get_two_answers(chat) -> None:
    said = " ".join(texts(chat("how many relapsed on lemtrada and how many had infections?")))
    assert said.index("had at least one relapse") < said.index("had a mild to moderate infection")


def test_a_medicine_in_the_person_s_own_story_is_not_taken_for_the_question(chat) -> None:
    said = texts(chat("i was on betaferon and still relapsed, what were the results for people like me"))
    assert "did not have a group on" not in " ".join(said)
    assert "CARE-MS II" in said[0] and "35%" in said[0] and "51%" in said[0]


def test_someone_new_to_treatment_gets_the_trial_of_people_like_them(chat) -> None:
    said = texts(chat("I've never taken an MS drug, how did people like me do?"))
    assert said[0].startswith("Here are the main results of CARE-MS I.")
    assert not any("(35%)" in text for text in said)


def test_a_long_message_gets_the_answer_to_its_question_and_no_alarm(chat) -> None:
    said = " ".join(
        texts(
            chat(
                "My husband has had MS for nine years. He had a bad relapse two years ago and spent a "
                "week in hospital. He is much better now and back at work. His consultant has "
                "suggested lemtrada. What are the side effects?"
            )
        )
    )
    assert "Here are the side effects of alemtuzumab" in said and "could be an emergency" not in said
    assert "had at least one relapse" not in said


NO_COMPARISON_GROUP = "This part had no comparison group."


@pytest.mark.parametrize(
    "question, trial, figure",
    [
        ("does lemtrada last? what happened after the 2 years", "CARE-MS II", "(59.8%)"),
        ("what happened 5 years later in care-ms 1, for people new to treatment", "CARE-MS I", "(68.5%)"),
    ],
)
def test_a_long_term_question_gets_each_trial_s_follow_up_with_its_limits(
    chat, question: str, trial: str, figure: str
) -> None:
    said = texts(chat(question))
    assert said[0].startswith(f"Here is what happened after the {trial} trial.")
    assert NO_COMPARISON_GROUP in said[0] and figure in said[0]
    assert any(text.startswith("Safety note:") for text in said) and "5-year" in said[-1]


def test_from_the_2_year_answer_to_the_years_after_and_back(chat) -> None:
    two_years = chat("how many people relapsed on lemtrada?")
    assert "(35%)" in texts(two_years)[0] and NO_COMPARISON_GROUP not in " ".join(texts(two_years))
    assert "/ask_long_term" in [button["payload"] for button in two_years[-1]["buttons"]]

    after = texts(chat("/ask_long_term"))  # the "What happened after the trial" quick reply
    assert after[0].startswith("Here is what happened after the CARE-MS II trial.")
    assert NO_COMPARISON_GROUP in after[0] and "35%" not in " ".join(after)

    disability = texts(chat("and disability?"))
    assert NO_COMPARISON_GROUP in disability[0] and "(75.1%)" in disability[0]
    assert "hazard ratio" not in " ".join(disability)

    other = texts(chat("and in the other trial?"))
    assert other[0].startswith("Here is what happened after the CARE-MS I trial.") and "(79.7%)" in other[0]

    back = texts(chat("and how many relapsed in the 2 years of the trial?"))
    assert NO_COMPARISON_GROUP not in " ".join(back) and "CARE-MS I trial" in back[0]


@pytest.mark.parametrize("text", ["can I talk to a real person?", "is there a helpline I can ring"])
def test_asked_for_a_person_it_says_none_is_here_and_names_the_helpline(chat, text: str) -> None:
    said = texts(chat(text))
    assert said[0] == "I'm a bot, so I can't put you through to a person."
    assert said[1].startswith("If you'd like to talk to a person, you can call the MS nurse line on")


def test_a_refusal_of_personal_advice_ends_with_the_helpline(chat) -> None:
    said = texts(chat("should I switch to lemtrada?"))
    assert said[0].startswith("I can't decide that for you")
    assert said[-1].startswith("If you'd like to talk to a person, you can call the MS nurse line on")
