"""Progress of a batch on stderr: files and bytes done, one updating line on a terminal.

On a TTY the line is redrawn in place (``\\r``) and cleared at the end; otherwise (CI logs, pipes) one
plain line is printed per finished file, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class Progress:
    def __init__(
        self, total_files: int, total_bytes: int, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total_files = total_files
        self.total_bytes = total_bytes
        self.files = 0
        self.bytes = 0
        self.enabled = enabled and total_files > 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self._width = 0

    def done(self, status: str, source: str, size: int) -> None:
        self.files += 1
        self.bytes += size
        if not self.enabled:
            return
        counter = f"[{self.files}/{self.total_files}] {_mb(self.bytes)}/{_mb(self.total_bytes)}"
        if self.tty:
            line = f"migrate {counter} {status} {source}"
            line = line[:160]
            pad = max(self._width - len(line), 0)
            self._width = len(line)
            self.stream.write("\r" + line + " " * pad)
        else:
            self.stream.write(f"migrate {counter} {status} {source}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
