"""Stand-in for legacy `agent.lib.obs_token_to_box_shaper`."""

import _legacy_common as _c

ObsTokenToBoxShaper = _c.legacy_subclass(_c.ObsTokenToBoxShaper, __name__)
