"""Run the trained model's graph in plain Python instead of through dask.

Rasa 3.6 runs every parse and every prediction (two or three a turn) with its `DaskGraphRunner`,
which builds a dask graph, orders it and schedules it on dask's synchronous scheduler each time.
For a graph of a dozen nodes that work cost about a quarter of what the nodes themselves cost:
profiled under load, dask's ordering and scheduling were 10% of the Rasa server's busy time.

`SequentialGraphRunner` runs the same nodes with the same inputs, in an order worked out once per
set of targets and inputs. What dask did stays as it was: only the targets' dependencies run, an
input with a node's name stands in for that node, a dependency nothing provides reaches the node
as its name (the node then says what is missing), and a `RuntimeError` becomes a `GraphRunError`.
`connectors.server` puts it in place of the runner Rasa's message processor loads the model
with; training still uses dask.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

# Each node to run, in an order where every node comes after the nodes it needs, with the names
# of what it needs, in the order its inputs are passed.
Plan = Tuple[Tuple[str, Tuple[str, ...]], ...]


class SequentialGraphRunner(DaskGraphRunner):
    """`DaskGraphRunner` with dask's scheduling replaced by a precomputed order."""

    def run(
        self,
        inputs: Dict[str, Any] | None = None,
        targets: List[str] | None = None,
    ) -> Dict[str, Any]:
        """Runs the graph (see `GraphRunner.run`)."""
        inputs = inputs or {}
        run_targets = targets if targets else self._graph_schema.target_names
        for value in inputs.values():
            if isinstance(value, str) and value in self._graph_schema.nodes:
                raise GraphRunError(f"Input value '{value}' clashes with a node name.")
        results: Dict[str, Any] = {name: (name, value) for name, value in inputs.items()}
        try:
            for node_name, needs in self._plan(tuple(run_targets), frozenset(inputs)):
                node = self._instantiated_nodes[node_name]
                results[node_name] = node(*(results.get(need, need) for need in needs))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(results.get(target, target) for target in run_targets)

    @lru_cache(maxsize=32)  # noqa: B019 (one runner per loaded model; a handful of target sets)
    def _plan(self, targets: Tuple[str, ...], inputs: frozenset[str]) -> Plan:
        """The nodes the targets depend on, each after its own dependencies."""
        nodes = self._graph_schema.nodes
        ordered: List[Tuple[str, Tuple[str, ...]]] = []
        placed: set[str] = set()

        def place(name: str, path: Tuple[str, ...] = ()) -> None:
            if name in placed or name in inputs or name not in nodes:
                return
            if name in path:
                raise GraphRunError(f"The graph has a cycle through '{name}'.")
            needs = tuple(nodes[name].needs.values())
            for need in needs:
                place(need, (*path, name))
            placed.add(name)
            ordered.append((name, needs))

        for target in targets:
            place(target)
        return tuple(ordered)
