"""Stand-in for `metta.agent.component_policies.fast`."""

from metta.agent.component_policy import ComponentPolicy


class Fast(ComponentPolicy):
    pass
