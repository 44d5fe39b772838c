"""``python -m benchmarks.train_end_to_end --patients 100000``: ``kapcds train --data DIR``
end to end against the plain-LightGBM floor measured in the same run (issue 31, item 2).

The machine is shared, so the floor (six ``lightgbm.LGBMClassifier`` fits of 300 trees,
one per outcome, on the same validated rows and model features, LightGBM's default
threads) is measured before and after the CLI runs, and the ratio uses their mean. Each
``kapcds train`` is a fresh process; its stages are timed by when its INFO lines arrive
(the same for any version of the code, so ``--before SRC``, a checkout of an older commit,
is timed alike). Held-out AUC per outcome comes from each run's registered card, and the
interval coverage of the generator's true probabilities from each registered model set on
a fresh generated cohort (as ``tests/model/test_interval_coverage.py`` measures it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from base.files import write_atomically
from benchmarks.common import Context, register

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
COHORT_SEED = 20261125  # ``kapcds generate``'s default seed
COVERAGE_PATIENTS, COVERAGE_SEED, COVERAGE_ID_OFFSET = 3000, 515151, 5_000_000
# (pattern of an INFO line, stage it ends): the stage of a line is the time since the
# previous milestone, so stages add up to the run.
MILESTONES = [
    (r"validated \d+ follow-up rows", "process start, imports, read and validate CSV"),
    (r"\] trained dropout", "outcome models (6)"),
    (r"\] fitted out-of-distribution detector", "trajectory model + OOD ranges"),
    (r"\] fitted per-patient intervals", "interval models (centres, 60 members)"),
    (r"\] (trained relapse model|relapse model skipped)", "relapse model + interval"),
    (r"\] evaluated on the test split", "evaluation (bootstraps)"),
    (r"\] model card written", "card (fairness, split record, profile)"),
    (r"registered model version", "register (write, sign)"),
]


def make_cohort(patients: int, folder: Path) -> Path:
    """``kapcds generate --patients N --out folder`` (its default seed), once per folder."""
    if not (folder / "patients.csv").is_file():
        subprocess.run([sys.executable, "-m", "kapcds.cli", "generate", "--patients",
                        str(patients), "--seed", str(COHORT_SEED), "--out", str(folder)],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return folder


def floor_fit(data: Path) -> dict[str, Any]:
    """Seconds of six plain 300-tree ``LGBMClassifier`` fits on the cohort's rows."""
    import lightgbm as lgb

    from models.contract.features import to_model_frame
    from models.contract.schema import outcome_names
    from training.data import load_patients

    patients = load_patients(data / "patients.csv", require_outcomes=True)
    X = to_model_frame(patients)
    started = time.perf_counter()
    for name in outcome_names():
        lgb.LGBMClassifier(n_estimators=300, verbose=-1, random_state=0).fit(
            X, patients[name].astype(int))
    return {"seconds": time.perf_counter() - started, "rows": len(X),
            "features": X.shape[1]}


def run_floor(data: Path) -> float:
    """``floor_fit`` in a fresh process (nothing else loaded, as a user would run it)."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.train_end_to_end", "--floor",
                          str(data)], check=True, cwd=ROOT, capture_output=True, text=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def run_cli(src: Path, data: Path, registry: Path, home: Path, seed: int) -> dict[str, Any]:
    """One ``kapcds -v train`` from the source tree ``src``: wall seconds, stage seconds."""
    env = {**os.environ, "KAPCDS_HOME": str(home), "PYTHONPATH": str(src),
           "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "kapcds.cli", "-v", "train", "--data", str(data),
               "--registry", str(registry), "--seed", str(seed)]
    started = previous = time.perf_counter()
    stages: dict[str, float] = {}
    lines: list[str] = []
    with subprocess.Popen(command, cwd=src, env=env, stderr=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.rstrip())
            for pattern, stage in MILESTONES:
                if re.search(pattern, line) and stage not in stages:
                    now = time.perf_counter()
                    stages[stage] = round(now - previous, 2)
                    previous = now
        version = (proc.stdout.read() if proc.stdout else "").strip().splitlines()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError("kapcds train failed:\n" + "\n".join(lines[-20:]))
    stages["audit entry, exit"] = round(seconds - sum(stages.values()), 2)
    return {"seconds": round(seconds, 2), "stages": stages, "version": version[-1],
            "registry": str(registry), "logged_steps": logged_steps(lines)}


def logged_steps(lines: list[str]) -> dict[str, float]:
    """The step seconds the CLI logs itself (versions from issue 31.2 on): the read and
    validate stage alone, each training step, the registry write."""
    steps = {}
    for line in lines:
        found = (re.search(r"\] (.+) \(([\d.]+) s\)$", line)
                 or re.search(r"stage (.+): ([\d.]+) s$", line))
        if found:
            steps[found.group(1)] = float(found.group(2))
    return steps


def quality(registry: Path, home: Path, version: str) -> dict[str, Any]:
    """Held-out test AUC per outcome (the card) and interval coverage per outcome."""
    os.environ["KAPCDS_HOME"] = str(home)  # the key the version was signed with
    import numpy as np

    from models.store.registry import Registry
    from training.generator.generate import generate_cohort

    model_set, card = Registry(registry).load(version)
    report = card["evaluation"]["report"]["outcomes"]
    held = generate_cohort(COVERAGE_PATIENTS, seed=COVERAGE_SEED, with_truth=True,
                           id_offset=COVERAGE_ID_OFFSET)
    bounds = model_set.predict_interval(held.patients)
    coverage = {}
    for name in model_set.outcomes:
        truth = held.truth[f"p_{name}"].to_numpy()
        lo, hi = bounds[f"{name}_lo"].to_numpy(), bounds[f"{name}_hi"].to_numpy()
        coverage[name] = round(float(np.mean((truth >= lo) & (truth <= hi))), 4)
    return {"auc": {name: round(float(r["auc"]["value"]), 4) for name, r in report.items()},
            "coverage": coverage}


def measure(patients: int, work: Path, before: Path | None, seed: int = 0) -> dict[str, Any]:
    """Floor, (before,) after, floor; the runs' qualities; the load around it all."""
    data = make_cohort(patients, work / f"cohort_{patients}")
    sources = {"after": ROOT} if before is None else {"before": before, "after": ROOT}
    result: dict[str, Any] = {"patients": patients, "load_before": os.getloadavg(),
                              "floor_s": [run_floor(data)], "runs": {}}
    for label, src in sources.items():
        home, registry = work / f"home_{label}", work / f"registry_{label}"
        log.info("kapcds train (%s, %s)", label, src)
        run = run_cli(src, data, registry, home, seed)
        run["load_after"] = os.getloadavg()
        run.update(quality(registry, home, run["version"]))
        result["runs"][label] = run
    result["floor_s"].append(run_floor(data))
    result["load_after"] = os.getloadavg()
    floor = sum(result["floor_s"]) / len(result["floor_s"])
    for run in result["runs"].values():
        run["ratio_to_floor"] = round(run["seconds"] / floor, 2)
    return result


@register("train_end_to_end")
def train_end_to_end(ctx: Context) -> dict[str, Any]:
    """``kapcds train`` on a generated CSV cohort against the plain-LightGBM floor
    (20,000 patients with ``--quick``, else 100,000)."""
    patients = 20_000 if ctx.quick else 100_000
    with tempfile.TemporaryDirectory(prefix="kapcds-train-e2e-") as work:
        result = measure(patients, Path(work), None)
    run = result["runs"]["after"]
    result["rows"] = [{"patients": patients, "kapcds_train_s": run["seconds"],
                       "floor_s": sum(result["floor_s"]) / 2,
                       "ratio": run["ratio_to_floor"]}]
    return result


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--work", type=Path, help="folder for the cohort (kept, reused) "
                        "and the registries (default: a temporary folder)")
    parser.add_argument("--before", type=Path, help="source tree of an older commit "
                        "(e.g. `git archive`), run first in the same measurement")
    parser.add_argument("--out", type=Path, help="JSON results path")
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.floor:
        sys.stdout.write(json.dumps(floor_fit(args.floor)) + "\n")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        result = measure(args.patients, args.work, args.before)
    else:
        with tempfile.TemporaryDirectory(prefix="kapcds-train-e2e-") as work:
            result = measure(args.patients, Path(work), args.before)
    text = json.dumps(result, indent=2, default=str) + "\n"
    if args.out:
        write_atomically(args.out, text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
