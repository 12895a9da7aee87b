"""Legacy internal: the mock record used by tests."""

from metta.agent.policy_record import PolicyRecord


class MockPolicyRecord(PolicyRecord):
    @classmethod
    def from_key_and_version(cls, key: str, version: int) -> "MockPolicyRecord":
        return cls(None, key, key, {"epoch": version})
