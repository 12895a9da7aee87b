"""Stand-in for legacy `metta.agent.lib.lstm`."""

import _legacy_common as _c

LSTM = _c.legacy_subclass(_c.LSTM, __name__)
