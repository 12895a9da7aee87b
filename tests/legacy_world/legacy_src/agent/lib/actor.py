"""Stand-in for legacy `agent.lib.actor`."""

import _legacy_common as _c

MettaActorSingleHead = _c.legacy_subclass(_c.MettaActorSingleHead, __name__)
