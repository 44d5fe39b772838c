"""(e) Dask scoring of a large partitioned cohort: patients/s and peak memory.

The cohort is generated and written one partition at a time (never whole in memory), then
``training.distributed.scoring.score_parquet`` predicts and explains it on a LocalCluster and writes
partitioned parquet, as ``kapcds score --engine dask`` does after validation.
Size: ``KAPCDS_BENCH_DASK_PARTITIONS`` x 50,000 patients (default 20 = 1,000,000; 4 with
``--quick``); ``KAPCDS_BENCH_DASK_EXPLAIN_ONLY=1`` skips the probabilities-only pass.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Context, peak_rss_mb, register, timed
from benchmarks.shap_measures import project_model_set
from training.generator.generate import generate_cohort

log = logging.getLogger(__name__)

PARTITION_ROWS = 50_000


def _current_rss_mb() -> float:
    """Resident set size now (VmRSS), to separate generation from scoring."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def write_generated(folder: Path, partitions: int, rows: int = PARTITION_ROWS) -> int:
    """``partitions`` seeded cohorts of ``rows`` patients, one parquet file each."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(partitions):
        cohort = generate_cohort(rows, seed=1000 + number, id_offset=number * rows)
        cohort.patients.to_parquet(folder / f"part-{number:05d}.parquet", index=False)
        log.info("generated partition %d/%d", number + 1, partitions)
        del cohort
    return partitions * rows


@register("dask_scoring")
def dask_scoring(ctx: Context) -> dict[str, Any]:
    """Generate partition by partition, then score + explain on a 2-worker LocalCluster."""
    import pyarrow.parquet as pq

    from training.distributed.scoring import local_client, score_parquet

    default = 4 if ctx.quick else 20
    partitions = int(os.environ.get("KAPCDS_BENCH_DASK_PARTITIONS", default))
    model_set = project_model_set(ctx)
    work = Path(tempfile.mkdtemp(prefix="kapcds-dask-bench-"))
    rows = []
    try:
        generate_s, n = timed(lambda: write_generated(work / "cohort", partitions))
        rss_before = _current_rss_mb()
        only = os.environ.get("KAPCDS_BENCH_DASK_EXPLAIN_ONLY") == "1"
        for explain in (True,) if only else (False, True):
            out = work / f"scored-{int(explain)}"
            started = time.perf_counter()
            with local_client(n_workers=2, processes=False) as client:
                score_parquet(work / "cohort", model_set, client=client, destination=out,
                              explain=explain)
            seconds = time.perf_counter() - started
            written = sum(pq.ParquetFile(p).metadata.num_rows for p in out.glob("*.parquet"))
            columns = len(pq.read_schema(next(out.glob("*.parquet"))).names)
            rows.append({"patients": written, "partitions": partitions,
                         "explain": explain, "columns": columns,
                         "seconds": round(seconds, 1),
                         "patients_per_s": round(written / seconds),
                         "rss_now_mb": round(_current_rss_mb()),
                         "peak_rss_mb": round(peak_rss_mb())})
            log.info("dask scoring: %s", rows[-1])
            shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"rows": rows, "patients": n, "generate_seconds": round(generate_s, 1),
            "rss_before_scoring_mb": round(rss_before)}
