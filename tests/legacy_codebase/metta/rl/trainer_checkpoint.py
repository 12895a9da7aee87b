"""Legacy internal: the trainer checkpoint."""


class TrainerCheckpoint:
    @classmethod
    def load(cls, run_dir: str) -> "TrainerCheckpoint | None":
        return None
