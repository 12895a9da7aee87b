"""Analysis configuration (pattern Y3: a config field typed by the selector config)."""

from dataclasses import dataclass, field

from metta.agent.policy_store import PolicySelectorConfig


@dataclass
class AnalysisConfig:
    policy_uri: str = ""
    policy_selector: PolicySelectorConfig = field(default_factory=PolicySelectorConfig)
    metric: str = "score"
