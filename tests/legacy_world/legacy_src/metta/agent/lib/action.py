"""Stand-in for legacy `metta.agent.lib.action`."""

import _legacy_common as _c

ActionEmbedding = _c.legacy_subclass(_c.ActionEmbedding, __name__)
