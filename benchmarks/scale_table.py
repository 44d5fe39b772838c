"""The issue-18 table (four clinic-scale paths) written into ``benchmarks/README.md``.

Each run of ``python -m benchmarks.run`` updates the rows whose measures it ran (the others
keep their last figures, with their own date and load), so a partial run never erases a
full one. Rows are kept in ``results/scale_table.json`` and rendered between two marker
comments in the README.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from base.files import write_atomically

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
STATE = HERE / "results" / "scale_table.json"
BEGIN, END = "<!-- scale-table:begin -->", "<!-- scale-table:end -->"
PATHS = (
    ("dashboard", "store of N patients: sign-in to the first page, fresh server",
     "≤ 3 s, RSS ≤ 1 GiB"),
    ("training", "train every model on N patients (`train_model_set`, all steps)", "≤ 60 s"),
    ("scoring", "score + explain N patients (Dask, 2-worker local cluster)",
     "1M in ≤ 150 s, RSS ≤ 2 GiB"),
    ("single_patient", "one patient, every outcome, predict + explain (p50 / p95)", "≤ 5 ms"),
)


def _largest(rows: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    rows = [r for r in rows if isinstance(r.get(key), int | float)]
    return max(rows, key=lambda r: r[key]) if rows else None


def _figures(name: str, result: dict[str, Any]) -> str | None:
    rows = result.get("rows") or []
    if name == "training":
        row = _largest(rows, "patients")
        return row and f"{row['patients']:,} patients: {row['train_model_set_s']:.1f} s"
    if name == "scoring":
        explained = [r for r in rows if r.get("explain")]
        row = _largest(explained, "patients")
        return row and (f"{row['patients']:,} patients: {row['seconds']:.1f} s "
                        f"({row['patients_per_s']:,}/s; 1M at this rate "
                        f"{1e6 / row['patients_per_s']:.0f} s), peak RSS "
                        f"{row['peak_rss_mb']:,} MiB")
    if name == "single_patient":
        hot = [r for r in rows if "hot path" in str(r.get("path", ""))]
        row = hot[0] if hot else None
        return row and f"{row['p50_ms']:.2f} / {row['p95_ms']:.2f} ms ({row['calls']} calls)"
    if name == "dashboard":
        row = _largest(rows, "patients")
        return row and (
            f"{int(row['patients']):,} patients: fresh server (no cohort cache): sign-in "
            f"page {row['signin_page_s']:.1f} s, then Home {row['first_page_s']:.1f} s, "
            f"candidate review {row['candidate_review_s']:.1f} s (waits for the background "
            f"build), peak RSS {row['peak_rss_mib']:.0f} MiB; restarted server: Home "
            f"{row['restart_first_page_s']:.2f} s, candidate review "
            f"{row['restart_candidate_review_s']:.2f} s, progress "
            f"{row['restart_progress_s']:.2f} s, cohort {row['restart_cohort_s']:.2f} s, "
            f"peak RSS {row['restart_peak_rss_mib']:.0f} MiB")
    return None


MEASURE_OF = {"training": "training", "scoring": "dask_scoring",
              "single_patient": "single_patient", "dashboard": "dashboard_first_render"}


def update(report: dict[str, Any], readme: Path = README, state: Path = STATE) -> None:
    """Fold this run's figures into the kept rows and rewrite the README block."""
    kept = json.loads(state.read_text()) if state.exists() else {}
    machine = report["machine"]
    when = str(report.get("started") or time.strftime("%Y-%m-%dT%H:%M"))[:16].replace("T", " ")
    load = ", ".join(f"{x:.1f}" for x in machine.get("load_average", [])[:3])
    for key, measure in MEASURE_OF.items():
        result = report["results"].get(measure)
        if not result or "error" in result:
            continue
        figures = _figures(key, result)
        if figures:
            kept[key] = {"figures": figures, "when": when,
                         "load": f"{load} → {result.get('load_after', '?')}"}
    write_atomically(state, json.dumps(kept, indent=2) + "\n")
    lines = [BEGIN, "", f"Machine: {machine.get('cpu', '?')}, {machine.get('nproc', '?')} "
             "cores shared with other engineers (load average 1/5/15 min at the start of "
             "the run, then the 1-minute load at the end of the measure).", "",
             "| path | measured | target | when | load |", "|---|---|---|---|---|"]
    for key, label, target in PATHS:
        row = kept.get(key)
        lines.append(f"| {label} | {row['figures'] if row else 'not measured yet'} | "
                     f"{target} | {row['when'] if row else ''} | {row['load'] if row else ''} |")
    lines += ["", END]
    text = readme.read_text()
    block = "\n".join(lines)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.replace("## Machine", f"## Clinic-scale paths (issue 18)\n\n{block}\n\n"
                            "## Machine", 1)
    write_atomically(readme, text)
