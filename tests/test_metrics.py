"""The Prometheus metrics of both servers, scraped from the live bot, and the alert rules.

A scripted conversation (a question, a fallback, an emergency) must show exactly those events
in the counters and histograms, scraped from each server's own metrics port; the proxy must
never forward those ports or a /metrics path; and deploy/prometheus/alerts.yml must load and
name only metrics the code registers.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import PROJECT_ROOT
from tests.live_bot import LiveBot

ALERTS = PROJECT_ROOT / "deploy" / "prometheus" / "alerts.yml"
SCRAPES = PROJECT_ROOT / "deploy" / "prometheus" / "prometheus.yml"
NGINX_CONF = PROJECT_ROOT / "docker" / "web" / "nginx.conf"

QUESTION = "How much did alemtuzumab reduce relapses?"
NONSENSE = "asdf"
EMERGENCY = "I have crushing chest pain right now"


class Scraped(dict):
    """{(sample name, labels): value} of one scrape."""

    def total(self, name: str, **labels: str) -> float:
        return sum(
            value
            for (sample, given), value in self.items()
            if sample == name and all(dict(given).get(key) == wanted for key, wanted in labels.items())
        )


def scrape(port: int) -> Scraped:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = Scraped()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_a_question_a_fallback_and_an_emergency_show_exactly_in_the_metrics(
    observed: tuple[LiveBot, int, int],
) -> None:
    bot, rasa_port, actions_port = observed
    bot.say("metrics-warm-up", "hello")  # the session start, outside the deltas
    rasa_before, actions_before = scrape(rasa_port), scrape(actions_port)

    fallback = bot.say("metrics-patient", NONSENSE)  # first: after a question, it reads as a follow-up
    answer = bot.say("metrics-patient", QUESTION)
    urgent = bot.say("metrics-patient", EMERGENCY)
    assert answer and fallback and urgent

    rasa, actions = scrape(rasa_port), scrape(actions_port)
    with pytest.raises(urllib.error.HTTPError):  # not on the port the proxy forwards to
        urllib.request.urlopen(f"{bot.base_url}/metrics", timeout=10)

    def rasa_delta(name: str, **labels: str) -> float:
        return rasa.total(name, **labels) - rasa_before.total(name, **labels)

    def actions_delta(name: str, **labels: str) -> float:
        return actions.total(name, **labels) - actions_before.total(name, **labels)

    assert rasa_delta("assistant_turns_total", outcome="answered") == 3
    assert rasa_delta("assistant_turns_total", outcome="failed") == 0
    assert rasa_delta("assistant_turn_seconds_count") == 3
    assert rasa_delta("assistant_turn_seconds_sum") > 0
    assert rasa_delta("assistant_turn_seconds_bucket", le="+Inf") == 3
    assert rasa_delta("assistant_fallbacks_total") == 1, fallback
    assert rasa_delta("assistant_emergencies_escalated_total") == 1
    assert rasa_delta("assistant_emergency_errors_total") == 0
    assert rasa_delta("assistant_action_server_failures_total") == 0

    assert actions_delta("actions_answers_total") >= 1
    relapses = sum(
        actions_delta("actions_answers_total", topic="relapse", trial=trial)
        for trial in ("care-ms-i", "care-ms-ii")
    )
    answers = {labels: value for (name, labels), value in actions.items() if name == "actions_answers_total"}
    assert relapses == actions_delta("actions_answers_total") == 1, answers
    assert actions_delta("actions_advice_refusals_total") == 0
    assert actions_delta("actions_knowledge_store_errors_total") == 0
    assert actions_delta("actions_knowledge_store_seconds_count") >= 1
    # No label holds what the patient typed or who they are.
    for (_, labels), _value in [*rasa.items(), *actions.items()]:
        for _key, value in labels:
            assert "metrics-patient" not in value and "chest" not in value and "asdf" not in value


def test_a_request_for_advice_is_counted_as_a_refusal(observed: tuple[LiveBot, int, int]) -> None:
    bot, _, actions_port = observed
    before = scrape(actions_port).total("actions_advice_refusals_total")
    bot.say("metrics-advice", "Should I take ocrelizumab?")
    assert scrape(actions_port).total("actions_advice_refusals_total") - before == 1


# ---------------------------------------------------------------------------------------------
# Not through the proxy


def test_the_proxy_never_forwards_metrics() -> None:
    conf = NGINX_CONF.read_text()
    proxied = re.findall(r"location\s+(?:[=~^*]+\s*)?(\S+)\s*\{[^}]*proxy_pass", conf)
    assert proxied, "no proxied location found: has nginx.conf changed?"
    assert not [path for path in proxied if "metrics" in path or path == "/"]
    assert not re.search(r"proxy_pass\s+\S*:(9102)\b", conf)
    assert "9102" not in conf


# ---------------------------------------------------------------------------------------------
# The alert rules and the scrape settings


def registered_metrics() -> set[str]:
    """Every metric name the two servers register, as Prometheus exposes them."""
    import actions.metrics
    import connectors.metrics

    names: set[str] = set()
    for module in (connectors.metrics, actions.metrics):
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                for family in value.describe():
                    names |= {family.name, f"{family.name}_total", f"{family.name}_bucket",
                              f"{family.name}_count", f"{family.name}_sum"}  # fmt: skip
    return names


def test_the_alert_rules_load_and_name_only_registered_metrics() -> None:
    rules = yaml.safe_load(ALERTS.read_text())
    registered = registered_metrics()
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert {group["name"] for group in rules["groups"]} and len(alerts) >= 4
    for rule in alerts:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"].get("severity") in ("page", "ticket"), rule["alert"]
        assert rule["annotations"].get("summary"), rule["alert"]
        named = set(re.findall(r"\b((?:assistant|actions)_[a-z_]+)", rule["expr"]))
        assert named and named <= registered, (rule["alert"], named - registered)
    wanted = {"TrackerStoreDown", "EmergencyAnsweredWithError", "FallbackRateDoubled", "KnowledgeStoreErrors"}
    assert wanted <= {rule["alert"] for rule in alerts}


def test_a_rule_naming_an_unknown_metric_is_caught() -> None:
    assert "assistant_no_such_thing_total" not in registered_metrics()
    assert "assistant_turns_total" in registered_metrics()


def test_prometheus_scrapes_both_servers_and_loads_the_alerts() -> None:
    settings = yaml.safe_load(SCRAPES.read_text())
    assert settings["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in settings["scrape_configs"]}
    assert jobs, "no scrape jobs"
    text = SCRAPES.read_text()
    assert "rasa" in text and "action-server" in text and "9102" in text
