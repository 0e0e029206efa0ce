"""Numbers as people read them: byte sizes in binary units, durations."""

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


def format_duration(seconds: float | None, units: int = 3) -> str:
    """``3h 02m 05s``; with ``units=2`` (a table's column) ``3h 02m``; ``None`` -> ``–``."""
    if seconds is None:
        return "–"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        parts = [f"{days}d", f"{hours}h", f"{minutes:02d}m"]
    elif hours:
        parts = [f"{hours}h", f"{minutes:02d}m", f"{secs:02d}s"]
    else:
        parts = [f"{minutes}m", f"{secs:02d}s"]
    return " ".join(parts[:units])
