"""Generation B (Jul 2025): metadata objects built and annotated (patterns C4, Y1 on PolicyMetadata)."""

from metta.agent.policy_metadata import PolicyMetadata


def fresh_metadata(epoch: int, **extra: float) -> PolicyMetadata:
    metadata = PolicyMetadata(epoch=epoch, **extra)
    return metadata


def is_metadata(value: object) -> bool:
    return isinstance(value, PolicyMetadata)
