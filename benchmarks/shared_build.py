"""What sharing the cohort table through the store costs (issue 31, item 4).

``python -m benchmarks.shared_build FILE URL [PATIENTS]``: FILE is a cohort file a dashboard
wrote (``KAPCDS_HOME/cache/cohort-*.arrow``) for a store of PATIENTS patients; its bytes
per patient scale the blob to 100,000 patients, and a blob of that size (random bytes: lz4
would squeeze a repeated table more than a real one) is published under a lease and read
back from the store at URL (a scratch table: run on a test database) five times.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
from pathlib import Path

from records import make_engine, shared_builds, upgrade

log = logging.getLogger(__name__)
TARGET = 100_000


def measure(cohort_file: Path, url: str, patients: int, repeats: int = 5) -> dict[str, float]:
    """Bytes per patient, the 100k blob's size and the median publish and fetch times."""
    per_patient = cohort_file.stat().st_size / patients
    size = int(per_patient * TARGET)
    engine = make_engine(url)
    upgrade(engine)
    body = os.urandom(size)
    publish, fetch = [], []
    for i in range(repeats):
        key = f"benchmark-{os.getpid()}-{i}"
        start = time.perf_counter()
        shared_builds.claim(engine, key, "bench", 60)
        shared_builds.publish(engine, key, "bench", "f", body, "tag")
        publish.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert shared_builds.published(engine, key).body == body
        fetch.append(time.perf_counter() - start)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DELETE FROM shared_builds WHERE key = '{key}'")
    engine.dispose()
    return {"bytes_per_patient": per_patient, "mib_at_100k": size / 2**20,
            "publish_s": statistics.median(publish), "fetch_s": statistics.median(fetch)}


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = measure(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
    log.info("%s; load %s", result, Path("/proc/loadavg").read_text().split()[:3])
