"""What a failed run's status says: its error, the traceback's tail and where it was raised."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# One frame line of a Python traceback: `  File "train.py", line 42, in main`.
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?$')
# Frames in these places belong to libraries or Python itself, not to the user's program.
_LIBRARY = re.compile(r"[\\/](?:site-packages|dist-packages|lib[\\/]python\d[\d.]*)[\\/]")


@dataclass(frozen=True)
class Frame:
    file: str
    line: int
    function: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where} in {self.function}" if self.function else where


@dataclass(frozen=True)
class Failure:
    """The ``error`` object of a failed run's status.json, read leniently."""

    type: str = ""
    message: str = ""
    signal: str = ""
    traceback: str = ""  # the last 4000 characters the logger kept

    @classmethod
    def from_status(cls, status: dict[str, Any]) -> Failure | None:
        error = status.get("error")
        if not isinstance(error, dict):
            return None
        return cls(*(_text(error.get(k)) for k in ("type", "message", "signal", "traceback")))

    @property
    def frames(self) -> list[Frame]:
        """The traceback's frames, outermost first (a kept tail may have lost the first ones)."""
        frames = []
        for line in self.traceback.splitlines():
            if match := _FRAME.match(line):
                frames.append(Frame(match["file"], int(match["line"]), match["func"] or ""))
        return frames

    @property
    def location(self) -> Frame | None:
        """Where it was raised: the innermost frame of the user's own code, else the innermost."""
        frames = self.frames
        own = [f for f in frames if not _LIBRARY.search(f.file)]
        return (own or frames or [None])[-1]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
