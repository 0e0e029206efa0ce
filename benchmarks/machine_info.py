"""One line about the machine a benchmark ran on, printed with every figure."""

from __future__ import annotations

import os
import platform


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    python = platform.python_version()
    return f"{cpu_model()} · {os.cpu_count()} cores · Python {python} · {platform.system()}"
