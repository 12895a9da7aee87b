"""Analysis configuration (pattern Y3: a config field typed by the selector config)."""

from dataclasses import dataclass, field

from metta.agent.policy_store import PolicySelectorConfig  # TODO(simple-ckpt): legacy import kept for the TODO-marked code that still uses PolicySelectorConfig


@dataclass
class AnalysisConfig:
    policy_uri: str = ""
    policy_selector: PolicySelectorConfig = field(default_factory=PolicySelectorConfig)  # TODO(simple-ckpt): PolicySelectorConfig: policy selectors are CLI/config surface; choose latest/best explicitly
    metric: str = "score"
