"""``python -m benchmarks.run [--quick] [--only a,b]``: run the benchmarks, print, save JSON.

Measures register themselves in ``benchmarks.common.MEASURES`` (see ``register``); add a
module with a registered function and import it below to extend the run (for example the
dashboard's time to first render, or ``load_clinicians``: 20 browser sessions at once for 5
minutes, 2 for 1 minute with ``--quick``; Debian's chromium needed; ``load_ws``: the same
mix over Streamlit's websocket protocol, no browser).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from base.files import write_atomically
from benchmarks import (  # noqa: F401  (they register)
    compare_measures,
    dashboard_measures,
    dask_measures,
    load_clinicians,
    load_ws,
    shap_measures,
    system_measures,
    train_end_to_end,
)
from benchmarks.common import MEASURES, Context, format_table, machine_info, peak_rss_mb
from benchmarks.scale_table import update as update_scale_table

log = logging.getLogger("benchmarks")

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def run(names: list[str], quick: bool) -> dict[str, Any]:
    """Run the named measures in order; one failing measure does not stop the others."""
    ctx = Context(quick=quick)
    report: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                              "quick": quick, "machine": machine_info(), "results": {}}
    for name in names:
        log.info("running %s", name)
        started = time.perf_counter()
        try:
            result = MEASURES[name](ctx)
        except Exception as exc:  # keep the other measures; record the failure
            log.exception("measure %s failed", name)
            result = {"error": f"{type(exc).__name__}: {exc}"}
        result["seconds"] = round(time.perf_counter() - started, 1)
        result["load_after"] = round(os.getloadavg()[0], 1)
        report["results"][name] = result
    report["peak_rss_mb"] = peak_rss_mb()
    return report


def render(report: dict[str, Any]) -> str:
    """All result tables as text, with the machine line first."""
    machine = report["machine"]
    parts = [f"{machine['cpu']}, {machine['nproc']} cores, numba threads "
             f"{machine['numba_threads']}, load {machine['load_average']}"]
    for name, result in report["results"].items():
        parts.append(f"\n== {name} ({result.get('seconds', 0)} s)")
        parts.append(result.get("error") or format_table(result.get("rows", [])))
    parts.append(f"\npeak RSS {report['peak_rss_mb']:.0f} MiB")
    return "\n".join(parts)


def write_json(report: dict[str, Any], path: Path) -> None:
    """Atomic write, so a crashed run never leaves half a results file."""
    write_atomically(path, json.dumps(report, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller cohorts, fewer repeats, no 100k training")
    parser.add_argument("--only", default="", help=f"comma list of {', '.join(MEASURES)}")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results path")
    parser.add_argument("--compare", action="store_true",
                        help="only shap_compare: FastTreeShap beside shap.TreeExplainer, "
                             "fasttreeshap-fixed and woodelf-explainer (benchmark-only "
                             "installs, see benchmarks/compare_measures.py)")
    parser.add_argument("--no-readme", action="store_true",
                        help="do not write the clinic-scale table into benchmarks/README.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    default = [n for n in MEASURES if n != "shap_compare"]  # contenders are opt-in
    names = [n.strip() for n in args.only.split(",") if n.strip()] or (
        ["shap_compare"] if args.compare else default)
    unknown = [n for n in names if n not in MEASURES]
    if unknown:
        parser.error(f"unknown measure(s): {', '.join(unknown)}")
    report = run(names, args.quick)
    write_json(report, args.out)
    if not args.no_readme:
        update_scale_table(report)
    sys.stdout.write(render(report) + "\n")
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
