"""Test doubles (pattern I6: a relative re-export and its __all__ entry; the file itself stays)."""

from .mock_agent import MockAgent

__all__ = ["MockAgent"]
