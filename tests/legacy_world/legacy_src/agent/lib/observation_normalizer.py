"""Stand-in for legacy `agent.lib.observation_normalizer`."""

import _legacy_common as _c

ObservationNormalizer = _c.legacy_subclass(_c.ObservationNormalizer, __name__)
