"""How many independent training steps ``train_model_set`` runs side by side.

Every booster of a model set is single-threaded and deterministic (``DEFAULT_PARAMS``:
``num_threads=1``, ``deterministic=True``), and LightGBM releases the GIL while it grows a
tree. So the steps that do not depend on each other (the six outcome boosters, the
trajectory model and the OOD ranges, then one interval model per outcome) can run on a few
threads and still give the same models, bit for bit, as running them one after another:
nothing is shared between them but read-only frames (``tests/model/test_parallel_training``
compares every booster).

Off by default in the library (``KAPCDS_TRAIN_THREADS`` turns it on), on by default for
``kapcds train`` (``command_threads``: one command that may use the machine; issue 31.2,
benchmarks/README.md): on the shared 2-core machine of
session 4 (load 2-5 from other work) the threaded runs at 100,000 patients took 47.9, 67.6,
69.4, 84.7 and 87.5 s against 60.8, 64.1 and 72.2 s serial in the same minutes, and used
5-9 CPU-seconds more; at load 1.6 it was 35.8 s against 52.3 s. It is for a machine with
cores to spare (benchmarks/profiles.md).

Threads, not processes: the frames are shared without copies or pickling, and the work
that holds the GIL (pandas, the calibration fits) is small next to the boosting.

LightGBM keeps the thread count of its latest call in one process-wide variable that
sizes the per-thread buffers of the calls running at that moment, so concurrent calls are
safe only if all of them pass the same count: the steps run side by side only when the
boosters are single-threaded, and every training-time ``predict`` passes the boosters'
count (``models.learners.lgbm_params.booster_threads``). A ``predict`` with LightGBM's default
(all cores) beside a training on one thread crashed the process (segfault).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from models.kernels.fastshap_kernels import NUMBA_AVAILABLE
from models.learners.lgbm_params import booster_threads

MAX_THREADS = 8  # above this the memory of the per-step frame copies outweighs the gain
THREADS_ENV = "KAPCDS_TRAIN_THREADS"  # "2", "auto"; unset: one step at a time


def training_threads() -> int:
    """Threads for the independent steps: ``KAPCDS_TRAIN_THREADS`` (``auto``: the usable
    CPUs, at most ``MAX_THREADS``), else 1, the serial order of earlier versions."""
    configured = os.environ.get(THREADS_ENV, "").strip()
    if not configured:
        return 1
    if configured == "auto":
        try:
            usable = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            usable = os.cpu_count() or 1
        return max(1, min(usable, MAX_THREADS))
    try:
        return max(1, int(configured))
    except ValueError as exc:
        raise ValueError(f"{THREADS_ENV} must be a whole number of threads or 'auto', "
                         f"got {configured!r}") from exc


class _Deferred(Future):
    """A step that runs on the calling thread when its result is first asked for."""

    def __init__(self, fn: Any, args: tuple, kwargs: dict) -> None:
        super().__init__()
        self._call: tuple | None = (fn, args, kwargs)

    def result(self, timeout: float | None = None) -> Any:
        if self._call is not None:
            fn, args, kwargs = self._call
            self._call = None
            try:
                self.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # re-raised below, as a pool's future would
                self.set_exception(exc)
        return super().result(timeout)


class InlineExecutor(Executor):
    """The serial order: each step runs on the calling thread when its result is asked
    for, so a caller that collects results in order reports each step as it finishes."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        return _Deferred(fn, args, kwargs)


def training_executor(params: dict[str, Any] | None) -> Executor:
    """A thread pool of ``training_threads()`` for boosters with one thread each (the
    default settings) and numba present, else the serial ``InlineExecutor`` (see the
    module docstring)."""
    threads = training_threads()
    # Without numba the calling thread's predictions (centre log-odds, evaluation) fall
    # back to LightGBM's predict on its default thread count: serial then.
    if threads < 2 or booster_threads(params or {}) != 1 or not NUMBA_AVAILABLE:
        return InlineExecutor()
    return ThreadPoolExecutor(threads, thread_name_prefix="kapcds-train")


@contextmanager
def command_threads(threads: str | None) -> Iterator[None]:
    """Within: ``threads`` ("2", "auto"), else ``KAPCDS_TRAIN_THREADS`` if set, else "auto".

    For ``kapcds train``: one command with the machine to itself may use every core for the
    independent steps (same models: the module docstring); the library default stays
    serial (the dashboard's worker trains beside the app). Restored on exit.
    """
    before = os.environ.get(THREADS_ENV)
    os.environ[THREADS_ENV] = str(threads) if threads else (before or "auto")
    try:
        training_threads()  # a bad value stops here, before any work
        yield
    finally:
        if before is None:
            os.environ.pop(THREADS_ENV, None)
        else:
            os.environ[THREADS_ENV] = before
