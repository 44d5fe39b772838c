"""The store reads that feed the dashboard's pages, timed on a populated store (issue 18).

    KAPCDS_HOME=<home> [KAPCDS_DATABASE_URL=postgresql+psycopg://…] \
        python -m benchmarks.store_queries [--repeats 5]

Each read runs ``--repeats`` times; the median and the slowest are printed with the row
count and, on SQLite and PostgreSQL, whether the plan uses an index (``EXPLAIN``) for the
one-patient reads. Reads only: nothing is written to the store.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from base import settings
from records.db import make_engine, session_factory
from records.followup.frames import doses_frame, plans_frame, visits_frame
from records.frames import (
    maintenance_patients,
    patient_keys,
    patients_frame,
    series_progress,
    session_count,
    sessions_frame,
    store_fingerprint,
)
from records.repository import decisions_for, get_patient

log = logging.getLogger("benchmarks.store_queries")


def reads(pid: str) -> dict[str, Callable[[Session], Any]]:
    """Name → read, in the order a server start and the pages make them."""
    return {
        "fingerprint (cohort cache key)": store_fingerprint,
        "patient keys (id, version, updated)": patient_keys,
        "every patient row (cache rebuild)": patients_frame,
        "session count (Home)": session_count,
        "latest session per patient (alerts)": lambda s: sessions_frame(s, latest_only=True),
        "series progress per patient (alerts)": series_progress,
        "patients with maintenance sessions": maintenance_patients,
        "follow-up visits (cohort)": visits_frame,
        "maintenance doses (cohort)": doses_frame,
        "maintenance plans (cohort)": plans_frame,
        "one patient row": lambda s: get_patient(s, pid),
        "one patient's sessions (progress)": lambda s: sessions_frame(s, pid),
        "one patient's visits (progress)": lambda s: visits_frame(s, pid),
        "one patient's decisions (review)": lambda s: decisions_for(s, pid),
    }


def _rows(result: Any) -> int | None:
    if isinstance(result, str | int):
        return 1
    try:
        return len(result)
    except TypeError:
        return None if result is None else 1


def _plan(session: Session, dialect: str, pid: str) -> str:
    """How the store finds one patient's sessions (index or scan)."""
    query = ("SELECT s.* FROM sessions s JOIN patients p ON s.patient_pk = p.id "
             "WHERE p.patient_id = :pid ORDER BY s.session_number")
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    rows = session.execute(text(prefix + query), {"pid": pid}).all()
    return " | ".join(str(row[-1]) for row in rows)


def measure(repeats: int) -> dict[str, Any]:
    """Median and slowest seconds of every read, with row counts and the machine's load."""
    engine = make_engine(settings.default_database_url())
    out: dict[str, Any] = {"store": engine.dialect.name, "load_1min": os.getloadavg()[0],
                           "reads": {}}
    with session_factory(engine)() as session:
        pid = str(patient_keys(session)["patient_id"].iloc[len(patient_keys(session)) // 2])
        for name, read in reads(pid).items():
            times, result = [], None
            for _ in range(repeats):
                started = time.perf_counter()
                result = read(session)
                times.append(time.perf_counter() - started)
            out["reads"][name] = {"median_s": statistics.median(times), "max_s": max(times),
                                  "rows": _rows(result)}
        out["one_patient_sessions_plan"] = _plan(session, engine.dialect.name, pid)
    out["load_1min_after"] = os.getloadavg()[0]
    engine.dispose()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = measure(args.repeats)
    sys.stdout.write(json.dumps(result, indent=1) + "\n")
    for name, row in result["reads"].items():
        sys.stdout.write(f"{name:40s} {row['median_s'] * 1000:9.1f} ms median "
                         f"{row['max_s'] * 1000:9.1f} ms max  {row['rows']} rows\n")


if __name__ == "__main__":
    main()
