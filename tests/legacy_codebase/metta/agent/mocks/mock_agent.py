"""A mock agent (not legacy)."""


class MockAgent:
    pass
