"""Stand-in for legacy `metta.agent.lib.nn_layer_library`."""

import _legacy_common as _c

Linear = _c.legacy_subclass(_c.Linear, __name__)
Conv2d = _c.legacy_subclass(_c.Conv2d, __name__)
Flatten = _c.legacy_subclass(_c.Flatten, __name__)
