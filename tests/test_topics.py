"""The registry of topics (actions/topics.py) is the one list of what can be asked: the domain,
the rules, the knowledge store and the buttons agree with it."""

from __future__ import annotations

import re

import yaml

from actions.answers import is_known_topic
from actions.asked import ABOUT_THE_LAST_ANSWER
from actions.store import KnowledgeStore
from actions.topics import MAIN_TOPICS, QUESTION_PREFIX, TOPIC_TITLES, TOPICS
from tests.helpers import PROJECT_ROOT

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
RULES = yaml.safe_load((PROJECT_ROOT / "data" / "rules.yml").read_text())["rules"]
# Questions that are not topics: each has its own action, or is about the last answer.
OTHER_QUESTIONS = {
    "ask_definition",
    "ask_capabilities",
    "ask_personal_advice",
    "ask_for_person",
    *ABOUT_THE_LAST_ANSWER,
}


def rule_actions(intent: str) -> list[str]:
    """The actions of the rules that start with `intent`."""
    return [
        step["action"]
        for rule in RULES
        if rule["steps"][0].get("intent") == intent
        for step in rule["steps"][1:2]
        if "action" in step
    ]


def test_every_question_intent_in_the_domain_is_a_registered_topic_or_another_kind_of_question() -> None:
    questions = {intent for intent in DOMAIN["intents"] if intent.startswith(QUESTION_PREFIX)}
    topics = {topic.intent for topic in TOPICS}
    assert questions - OTHER_QUESTIONS == topics
    assert not topics & OTHER_QUESTIONS


def test_every_topic_has_one_rule_that_answers_it_from_the_store() -> None:
    for topic in TOPICS:
        assert rule_actions(topic.intent) == ["action_answer_question"], topic.key


def test_every_topic_has_an_answer_and_every_topic_in_the_store_can_be_asked(knowledge_url: str) -> None:
    with KnowledgeStore.open(knowledge_url) as store:
        assert [topic.key for topic in TOPICS if not is_known_topic(store, topic.key)] == []
        in_the_store = set().union(*(store.topics(trial) for trial in store.trials()))
    assert in_the_store - {topic.key for topic in TOPICS} == set()


def test_buttons_name_their_topic_without_figures_and_the_first_offered_are_topics() -> None:
    assert all(not re.search(r"\d", title) for title in TOPIC_TITLES.values())
    assert len({topic.key for topic in TOPICS}) == len(TOPICS)
    assert MAIN_TOPICS and set(MAIN_TOPICS) <= {topic.intent for topic in TOPICS}
