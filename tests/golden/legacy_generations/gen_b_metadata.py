"""Generation B (Jul 2025): metadata objects built and annotated (patterns C4, Y1 on PolicyMetadata)."""


def fresh_metadata(epoch: int, **extra: float) -> dict:
    metadata = dict({"agent_step": 0, "generation": 0, "train_time": 0}, epoch=epoch, **extra)
    return metadata


def is_metadata(value: object) -> bool:
    return isinstance(value, dict)
