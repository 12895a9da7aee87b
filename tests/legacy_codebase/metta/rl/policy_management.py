"""Partly legacy: wrap_agent_distributed stays, the record helpers go."""

from typing import Any


def wrap_agent_distributed(agent: Any, device: Any) -> Any:
    return agent


def initialize_policy_for_environment(policy_record: Any, metta_grid_env: Any, device: Any, restore_feature_mapping: bool = True) -> None:
    return None
