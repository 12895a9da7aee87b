"""Legacy internal: an LRU of loaded records."""


class PolicyCache:
    def __init__(self, max_size: int = 10) -> None:
        self.max_size = max_size
