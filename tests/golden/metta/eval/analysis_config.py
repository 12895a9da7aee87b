"""Analysis configuration (pattern Y3: a config field typed by the selector config)."""

from dataclasses import dataclass, field

from simple_ckpt.compat import SelectorConfig


@dataclass
class AnalysisConfig:
    policy_uri: str = ""
    policy_selector: SelectorConfig = field(default_factory=SelectorConfig)
    metric: str = "score"
