"""Time to the first page of the dashboard (``tests/app/measure_first_render.py``).

Each size runs in fresh processes (populate: bootstrap + top-up with generated patients;
then a fresh server without a cohort cache on disk and a restarted one: sign-in page, Home
after sign-in, Candidate review, progress, cohort, a new session, a rerun), so Streamlit's
caches start empty as on a new server. Sizes: ``KAPCDS_BENCH_DASHBOARD_PATIENTS`` (comma
list; default 100,000, 2,000 with ``--quick``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import Context, register

SCRIPT = Path(__file__).resolve().parents[1] / "tests" / "app" / "measure_first_render.py"


@register("dashboard_first_render")
def dashboard_first_render(ctx: Context) -> dict[str, Any]:
    """Sign-in to the first page (Home) and the main pages at clinic scale."""
    default = "2000" if ctx.quick else "100000"
    sizes = os.environ.get("KAPCDS_BENCH_DASHBOARD_PATIENTS", default).split(",")
    out = subprocess.run([sys.executable, str(SCRIPT), "--json", "--patients", *sizes],
                         check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {"rows": rows}
