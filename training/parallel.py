"""How many independent training steps ``train_model_set`` runs side by side.

Every booster of a model set is single-threaded and deterministic (``DEFAULT_PARAMS``:
``num_threads=1``, ``deterministic=True``), and LightGBM releases the GIL while it grows a
tree. So the steps that do not depend on each other (the six outcome boosters, the
trajectory model and the OOD ranges, then one interval model per outcome) can run on a few
threads and still give the same models, bit for bit, as running them one after another:
nothing is shared between them but read-only frames. At 100,000 patients that halves the
wall time on 2 free cores; on a busy machine it takes what the scheduler gives.

Threads, not processes: the frames are shared without copies or pickling, and the work
that holds the GIL (pandas, the calibration fits) is small next to the boosting.
"""

from __future__ import annotations

import os

MAX_THREADS = 8  # above this the memory of the per-step frame copies outweighs the gain
THREADS_ENV = "KAPCDS_TRAIN_THREADS"  # e.g. 1 for the old one-step-at-a-time order


def training_threads() -> int:
    """Threads for the independent steps: ``KAPCDS_TRAIN_THREADS``, else the usable CPUs
    (at most ``MAX_THREADS``). One thread gives the serial order of earlier versions."""
    configured = os.environ.get(THREADS_ENV, "").strip()
    if configured:
        try:
            return max(1, int(configured))
        except ValueError as exc:
            raise ValueError(f"{THREADS_ENV} must be a whole number of threads, "
                             f"got {configured!r}") from exc
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return max(1, min(usable, MAX_THREADS))
