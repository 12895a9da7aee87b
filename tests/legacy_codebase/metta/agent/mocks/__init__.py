"""Test doubles (pattern I6: a relative re-export and its __all__ entry; the file itself stays)."""

from .mock_agent import MockAgent
from .mock_policy_record import MockPolicyRecord

__all__ = ["MockAgent", "MockPolicyRecord"]
