"""Numbers as people read them: byte sizes in binary units."""

from __future__ import annotations

UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def format_bytes(size: float | None) -> str:
    """``1536`` -> ``1.5 KiB``; whole bytes below 1 KiB; ``None`` -> ``""``."""
    if size is None:
        return ""
    value = float(size)
    for unit in UNITS:
        if abs(value) < 1024 or unit == UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""  # pragma: no cover - the loop always returns
