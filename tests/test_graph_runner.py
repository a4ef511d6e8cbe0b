"""The trained model's graph, run without dask, gives exactly what Rasa's dask runner gives: the
same parse of every held-out message and the same next action after each, and the same errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.engine import loader
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import ExecutionContext, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors.graph_runner import SequentialGraphRunner
from tests.live_bot import MODEL
from tests.test_model import held_out_examples

MESSAGE, TRACKER = "__message__", "__tracker__"


def load(runner_class: type, directory: Path) -> tuple[Any, Any]:
    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}: run `make train` (make test does it).")
    return loader.load_predict_graph_runner(directory, MODEL, LocalModelStorage, runner_class)


@pytest.fixture(scope="module")
def runners(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Any]:
    metadata, with_dask = load(DaskGraphRunner, tmp_path_factory.mktemp("dask"))
    _, sequential = load(SequentialGraphRunner, tmp_path_factory.mktemp("sequential"))
    return metadata, with_dask, sequential


def parse(runner: Any, target: str, text: str, tracker: DialogueStateTracker) -> dict:
    parsed = runner.run(
        inputs={MESSAGE: [UserMessage(text, sender_id="patient", message_id="1")], TRACKER: tracker},
        targets=[target],
    )
    return parsed[target][0].as_dict(only_output_properties=True)


def tracker_after(text: str, parse_data: dict, domain: Domain) -> DialogueStateTracker:
    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    return DialogueStateTracker.from_events(
        "patient", [*events, UserUttered(text, parse_data["intent"], parse_data.get("entities", []))],
        slots=domain.slots,
    )  # fmt: skip


def test_every_held_out_message_is_parsed_and_answered_the_same(runners) -> None:
    metadata, with_dask, sequential = runners
    domain = metadata.domain
    empty = DialogueStateTracker("patient", domain.slots)
    texts = [example.get("text") for example in held_out_examples()]
    assert len(texts) > 150
    for text in texts:
        expected = parse(with_dask, metadata.nlu_target, text, empty)
        assert parse(sequential, metadata.nlu_target, text, empty) == expected, text

        tracker = tracker_after(text, expected, domain)
        wanted = with_dask.run(inputs={TRACKER: tracker}, targets=[metadata.core_target])
        got = sequential.run(inputs={TRACKER: tracker}, targets=[metadata.core_target])
        assert list(got) == list(wanted) == [metadata.core_target]
        wanted_prediction, got_prediction = wanted[metadata.core_target], got[metadata.core_target]
        assert got_prediction.probabilities == wanted_prediction.probabilities, text
        assert got_prediction.policy_name == wanted_prediction.policy_name, text
        assert got_prediction.events == wanted_prediction.events, text


class Add:
    """A stand-in for a graph node: adds what it is given, and records that it ran."""

    def __init__(self, name: str, ran: list[str]) -> None:
        self.name, self.ran = name, ran

    def __call__(self, *inputs: Any) -> tuple[str, Any]:
        self.ran.append(self.name)
        values = [value[1] if isinstance(value, tuple) else value for value in inputs]
        if any(value == "boom" for value in values):
            raise RuntimeError("a node failed")
        return self.name, sum(value for value in values if isinstance(value, int))


def small_graph(runner_class: type, ran: list[str]) -> Any:
    """a needs the input x; b needs a; c needs b and a; unused needs x and is never a target."""
    needs = {"a": {"x": "x"}, "b": {"i": "a"}, "c": {"i": "b", "j": "a"}, "unused": {"i": "x"}}
    schema = GraphSchema(
        {name: SchemaNode(needs=need, uses=object, constructor_name="", fn="", config={})
         for name, need in needs.items()}
    )  # fmt: skip
    runner = runner_class.__new__(runner_class)
    runner._graph_schema = schema
    runner._instantiated_nodes = {name: Add(name, ran) for name in needs}
    runner._execution_context = ExecutionContext(schema)
    return runner


@pytest.mark.parametrize(
    "inputs, targets",
    [({"x": 1}, ["c"]), ({"x": 2}, ["b", "c"]), ({"x": 3, "a": 10}, ["c"]), ({}, ["b"]), ({"x": 1}, ["x"])],
)
def test_only_what_the_targets_need_runs_with_inputs_standing_in_for_nodes(inputs, targets) -> None:
    ran_with_dask: list[str] = []
    ran: list[str] = []
    expected = small_graph(DaskGraphRunner, ran_with_dask).run(inputs=dict(inputs), targets=targets)
    assert small_graph(SequentialGraphRunner, ran).run(inputs=dict(inputs), targets=targets) == expected
    assert sorted(ran) == sorted(ran_with_dask)
    assert "unused" not in ran


def test_a_failing_node_fails_the_run_as_with_dask() -> None:
    for runner_class in (DaskGraphRunner, SequentialGraphRunner):
        with pytest.raises(GraphRunError):
            small_graph(runner_class, []).run(inputs={"x": "boom"}, targets=["c"])


def test_an_input_named_like_a_node_is_refused_as_with_dask() -> None:
    for runner_class in (DaskGraphRunner, SequentialGraphRunner):
        with pytest.raises(GraphRunError):
            small_graph(runner_class, []).run(inputs={"x": "b"}, targets=["c"])


def test_the_server_loads_its_model_with_the_sequential_runner() -> None:
    import rasa.core.processor

    from connectors.server import install

    install()
    assert rasa.core.processor.DaskGraphRunner is SequentialGraphRunner
