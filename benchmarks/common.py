"""Shared benchmark plumbing: the measurement registry, timing, memory and machine facts.

The machine is shared and noisy, so competing methods are timed *interleaved* in the same
run (A, B, A, B, ...) and compared by medians and by the median of paired ratios.
"""

from __future__ import annotations

import logging
import os
import platform
import resource
import statistics
import subprocess
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Measure = Callable[["Context"], dict[str, Any]]
MEASURES: dict[str, Measure] = {}


def register(name: str) -> Callable[[Measure], Measure]:
    """Add a measurement to ``python -m benchmarks.run`` (hook for new measures).

    A measure takes the run's Context and returns a JSON-able dict; an optional ``"rows"``
    entry (list of dicts with the same keys) is printed as a table.
    """

    def wrap(func: Measure) -> Measure:
        MEASURES[name] = func
        return func

    return wrap


@dataclass
class Context:
    """Options and objects shared between measures (cohorts and models are built once)."""

    quick: bool = False
    seed: int = 20260
    cache: dict[str, Any] = field(default_factory=dict)

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        """Build an expensive object once per run."""
        if key not in self.cache:
            started = time.perf_counter()
            self.cache[key] = build()
            log.info("built %s in %.1f s", key, time.perf_counter() - started)
        return self.cache[key]


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    """Wall-clock seconds of one call, and its result."""
    started = time.perf_counter()
    result = func()
    return time.perf_counter() - started, result


def interleaved(candidates: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Time each candidate ``repeats`` times, alternating, so load spikes hit all alike."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, func in candidates.items():
            seconds, _ = timed(func)
            times[name].append(seconds)
    return times


def paired_ratio(slow: list[float], fast: list[float]) -> float:
    """Median over repeats of slow/fast measured back to back (robust to drifting load)."""
    return statistics.median(s / f for s, f in zip(slow, fast, strict=True))


def percentile(values: list[float], q: float) -> float:
    """q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def traced_peak_mb(func: Callable[[], Any]) -> tuple[float, float]:
    """(seconds, peak MiB of Python/numpy allocations) of one call under tracemalloc.

    C++ allocations inside LightGBM are invisible to tracemalloc; see peak RSS for those.
    """
    tracemalloc.start()
    try:
        seconds, _ = timed(func)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seconds, peak / 2**20


def _command(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, check=False,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory and library versions, for the README and the JSON."""
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import lightgbm
    import numpy
    import shap

    try:
        import numba

        numba_version, threads = numba.__version__, numba.get_num_threads()
    except ImportError:
        numba_version, threads = "missing", 1
    return {
        "cpu": cpu or platform.processor(), "nproc": _command(["nproc"]) or os.cpu_count(),
        "free_h": _command(["free", "-h"]), "load_average": os.getloadavg(),
        "python": platform.python_version(), "numpy": numpy.__version__,
        "lightgbm": lightgbm.__version__, "shap": shap.__version__, "numba": numba_version,
        "numba_threads": threads,
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    """Plain-text table with one column per key of the first row."""
    if not rows:
        return ""
    keys = list(rows[0])

    def cell(value: Any) -> str:
        if isinstance(value, float):
            if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
                return f"{value:.2e}"
            return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
        return str(value)

    table = [[str(k) for k in keys]] + [[cell(row.get(k, "")) for k in keys] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(keys))]
    lines = ["  ".join(text.rjust(w) for text, w in zip(line, widths, strict=True))
             for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
