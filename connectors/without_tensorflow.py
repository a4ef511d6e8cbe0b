"""Start the Rasa server without TensorFlow, which no component of this model uses.

Rasa 3.6 imports TensorFlow whenever its server starts (6.2 s and 443 MB on this machine, about
half the server's start-up and two thirds of its memory), by two roads that serving this model
never travels. Rasa kept TensorFlow out of its command line's start (RasaHQ/rasa#4280, PR #8141)
but not out of `rasa run`; see also RasaHQ/rasa#10194.

- **Training helpers.** Rasa's dialogue policies import its entity extractors' base module, which
  imports `rasa.utils.train_utils`, which imports TensorFlow's training callbacks. A server
  uses one small function of that module, `init_split_entities` (the CRF entity extractor's
  constructor calls it). `defer_training_helpers` puts a stand-in for the module in its place: it
  answers that function, and the first use of anything else imports the real module, TensorFlow
  and all, and hands that over. So a model that does use TensorFlow (DIET, TED: the benchmark's
  other configurations) still works, only its server starts as slowly as before.
- **The training graph.** Loading a model rebuilds both of its graphs, the one it was trained with
  and the one it predicts with, and importing the training graph's recipe validator imports DIET.
  A server only predicts: `predict_only` loads a model without its training graph.

`connectors.server` installs both before Rasa is imported. `bench.speed` reports whether the
server loaded TensorFlow; `tests/test_without_tensorflow.py` checks that it does not.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any, Dict

from rasa.shared.nlu.constants import SPLIT_ENTITIES_BY_COMMA

TRAINING_HELPERS = "rasa.utils.train_utils"


def init_split_entities(
    split_entities_config: bool | Dict[str, Any], default_split_entity: bool
) -> Dict[str, bool]:
    """Rasa 3.6's `rasa.utils.train_utils.init_split_entities`, as it is there (a test compares
    the two): which entity types to split at commas."""
    if isinstance(split_entities_config, bool):
        return {SPLIT_ENTITIES_BY_COMMA: split_entities_config}
    split_entities_config[SPLIT_ENTITIES_BY_COMMA] = default_split_entity
    return split_entities_config  # type: ignore[return-value]


class DeferredTrainingHelpers(types.ModuleType):
    """Stands in for `rasa.utils.train_utils` until something other than
    `init_split_entities` is asked of it; then imports the real module and hands over."""

    init_split_entities = staticmethod(init_split_entities)

    def __getattr__(self, name: str) -> Any:  # only for what the stand-in does not have
        if name.startswith("__"):  # the import system asking about the module, not using it
            raise AttributeError(name)
        return getattr(self.real(), name)

    def real(self) -> types.ModuleType:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        module = importlib.import_module(self.__name__)
        parent, _, child = self.__name__.rpartition(".")
        setattr(sys.modules[parent], child, module)
        return module


def defer_training_helpers() -> None:
    """Put the stand-in in the place of Rasa's training helpers, unless they are imported already."""
    if TRAINING_HELPERS in sys.modules:
        return
    spec = importlib.util.find_spec(TRAINING_HELPERS)
    if spec is None:
        return
    stand_in = DeferredTrainingHelpers(TRAINING_HELPERS)
    stand_in.__spec__ = spec
    stand_in.__file__ = spec.origin
    sys.modules[TRAINING_HELPERS] = stand_in
    parent, _, child = TRAINING_HELPERS.rpartition(".")
    setattr(importlib.import_module(parent), child, stand_in)


def predict_only() -> None:
    """Load models without their training graph, which serving never reads."""
    from rasa.engine.storage.storage import ModelMetadata

    if getattr(ModelMetadata.from_dict, "predict_only", False):
        return
    from_dict = ModelMetadata.from_dict.__func__  # type: ignore[attr-defined]

    def from_dict_without_training_graph(cls: type, serialized: Dict[str, Any]) -> ModelMetadata:
        return from_dict(cls, {**serialized, "train_schema": {"nodes": {}}})

    from_dict_without_training_graph.predict_only = True  # type: ignore[attr-defined]
    ModelMetadata.from_dict = classmethod(from_dict_without_training_graph)  # type: ignore[assignment]
