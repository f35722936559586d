"""The one timing harness every benchmark uses.

Runs are interleaved — each round calls every side once, in an order that rotates between
rounds — so a slow spell on a shared machine hits each side alike; medians are reported, and
per-round ratios (calls made seconds apart) hold up better than a ratio of medians when the
machine's load drifts. Import it from a script in this folder: ``from harness import …``.
"""

from __future__ import annotations

import resource
import statistics
import time
from pathlib import Path
from typing import Callable


def interleaved_times(functions: dict[str, Callable[[], object]], repeats: int,
                      warmup: int = 1) -> dict[str, list[float]]:
    """Seconds per call for each side, ``repeats`` rounds after ``warmup`` untimed rounds
    (allocator, oneDNN primitive caches, FFT plans and lazy imports warm up there)."""
    names = list(functions)
    for _ in range(warmup):
        for name in names:
            functions[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:  # rotate who goes first
            start = time.perf_counter()
            functions[name]()
            times[name].append(time.perf_counter() - start)
    return times


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in times.items()}


def interleaved_medians(functions: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, float]:
    return medians(interleaved_times(functions, repeats, warmup))


def paired_ratios(times: dict[str, list[float]], baseline: str) -> dict[str, float]:
    """Median over rounds of (side's time / baseline's time in the same round)."""
    base = times[baseline]
    return {name: statistics.median(a / b for a, b in zip(values, base)) for name, values in times.items()}


def status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS, VmHWM, ...) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"/proc/self/status has no {field}")


def peak_rss_mb() -> float:
    """This process's own peak resident set size so far.

    VmHWM, not ``ru_maxrss``: Linux folds the parent's peak into ``ru_maxrss`` across fork+exec,
    so a child started by a big benchmark process would report the parent's peak.
    """
    try:
        return status_mb("VmHWM")
    except (OSError, RuntimeError):  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(rows: list[dict], columns: list[str]) -> None:
    """A Markdown table (paste-ready for docs/benchmarks.md); floats get 3 significant digits."""
    def cell(value):
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |")
