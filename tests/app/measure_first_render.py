"""Sign-in to the first page of the dashboard at clinic scale (run by hand).

    python tests/app/measure_first_render.py [--patients 2000 100000] [--home DIR]

Per size, in separate processes: ``--populate`` bootstraps a KAPCDS_HOME (store seeded with
the 2,000 samples, model trained), tops it up with generated patients and makes a
clinician account; then a *fresh* server (no cohort cache on disk yet) and a *restarted*
one (the cohort cache the fresh one wrote) each render, with AppTest: the sign-in page
(where the server loads and warms the model), Home right after sign-in (the first page),
Candidate review, Treatment progress and Cohort overview, then Candidate review in a new
browser session and a rerun. Each server's peak RSS is reported (the population step's is
not: generating 100,000 patients is not the server's work). ``--home`` reuses a populated
folder; ``KAPCDS_DATABASE_URL`` picks the store (PostgreSQL too).
Not a pytest test on purpose: timings depend on the machine, so nothing asserts on them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger("measure_first_render")
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
EXTRA_SEED = 424242
USERNAME = "measure-clinician"
PASSWORD = "measure-first-render password"  # a throwaway account in a temporary home


def _top_up(engine: object, total: int) -> None:
    """Add generated patients (and their sessions) until the store holds ``total``."""
    from records.db import session_factory
    from records.imports.bulk import import_patients_and_sessions
    from records.repository import patient_count
    from training.generator.generate import generate_cohort

    with session_factory(engine)() as session:  # type: ignore[arg-type]
        missing = total - patient_count(session)
        if missing <= 0:
            return
        cohort = generate_cohort(missing, EXTRA_SEED)
        ids = {old: f"KAP-{90000 + i:05d}" for i, old in enumerate(cohort.patients["patient_id"])}
        patients = cohort.patients.assign(patient_id=cohort.patients["patient_id"].map(ids))
        sessions = cohort.sessions.assign(patient_id=cohort.sessions["patient_id"].map(ids))
        sessions = sessions.astype(object).where(sessions.notna(), None)  # pd.NA → empty
        import_patients_and_sessions(session, patients, sessions)


def _sign_in_token(engine: object, create: bool = True) -> str:
    """Make the clinician account (unless it exists) and open its session: the token a
    signed-in tab holds."""
    from records.db import session_factory
    from records.security import signin_sessions as sessions
    from records.security.policy import Actor
    from records.security.users import create_user

    with session_factory(engine)() as session:  # type: ignore[arg-type]
        if create:
            create_user(session, USERNAME, PASSWORD, "clinician", Actor("measure", "system"))
        token = sessions.start(session, USERNAME, "password")
        session.commit()
    return token


PAGES = ("candidate_review", "progress", "cohort")


def _populate(total: int) -> None:
    """Bootstrap the home, top the store up to ``total`` patients, make the account."""
    from dashboard.services.startup import ensure_ready
    from records.db import session_factory
    from records.security.users import get_user

    ready = ensure_ready()
    _top_up(ready.engine, total)
    with session_factory(ready.engine)() as session:  # type: ignore[arg-type]
        exists = get_user(session, USERNAME) is not None
    if not exists:
        _sign_in_token(ready.engine, create=True)


def _timed(at: object, page: str | None = None) -> float:
    if page is not None:
        at.switch_page(f"views/{page}.py")  # type: ignore[attr-defined]
    started = time.perf_counter()
    at.run()  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    assert not at.exception, [e.value for e in at.exception]  # type: ignore[attr-defined]
    return elapsed


def _one(total: int) -> dict[str, float]:
    """One server process on a populated home: the renders listed in the module doc."""
    from streamlit.testing.v1 import AppTest

    from dashboard.services.startup import ensure_ready
    from dashboard.widgets.signin.browser_session import TOKEN_KEY

    token = _sign_in_token(ensure_ready().engine, create=False)
    result: dict[str, float] = {"patients": float(total)}
    at = AppTest.from_file(str(APP), default_timeout=900)
    result["signin_page_s"] = _timed(at)  # the server's start: model load and warm-up
    at.session_state[TOKEN_KEY] = token  # the sign-in form's outcome
    result["first_page_s"] = _timed(at)  # Home
    result["first_page_rss_mib"] = _rss()
    for page in PAGES:
        result[f"{page}_s"] = _timed(at, page)
        if page == "candidate_review":
            assert f"of {total:,} patients match" in " ".join(c.value for c in at.caption)
    fresh_tab = AppTest.from_file(str(APP), default_timeout=900)
    fresh_tab.session_state[TOKEN_KEY] = token
    result["new_session_s"] = _timed(fresh_tab, "candidate_review")
    result["rerun_s"] = _timed(fresh_tab)
    result["peak_rss_mib"] = _rss()
    return result


def _forget_shared_builds() -> None:
    """Empty the store's published cohort tables (issue 31.4), so a "fresh" server builds
    its table instead of installing the one a previous run published."""
    from sqlalchemy import delete

    from dashboard.services.startup import ensure_ready
    from records.tables.builds import SharedBuild

    with ensure_ready().engine.begin() as connection:
        connection.execute(delete(SharedBuild))


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(args: list[str], env: dict[str, str]) -> dict[str, float] | None:
    out = subprocess.run([sys.executable, __file__, *args], env=env, check=True,
                         capture_output=True, text=True).stdout
    lines = [line for line in out.strip().splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def _measure(total: int, home: str, fresh: bool) -> dict[str, float]:
    env = {**os.environ, "KAPCDS_HOME": home, "KAPCDS_BCRYPT_ROUNDS": "4",
           "KAPCDS_ADMIN_PASSWORD": "measure-first-render admin password"}
    _child(["--populate", str(total)], env)
    if fresh:  # a fresh server: no cohort table on disk, none published in the store
        for path in (Path(home) / "cache").glob("cohort-*"):
            path.unlink()
        _child(["--forget-builds"], env)
    first = _child(["--child", str(total)], env)
    again = _child(["--child", str(total)], env)
    assert first is not None and again is not None
    return {**first, **{f"restart_{k}": v for k, v in again.items() if k != "patients"}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[2000, 100000])
    parser.add_argument("--home", help="a KAPCDS_HOME to reuse (kept; populated if needed)")
    parser.add_argument("--json", action="store_true", help="one JSON line per size")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--populate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--forget-builds", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.forget_builds:
        _forget_shared_builds()
        return
    if args.populate:
        _populate(args.populate)
        return
    if args.child:
        sys.stdout.write(json.dumps(_one(args.child)) + "\n")
        return
    for total in args.patients:
        if args.home:
            row = _measure(total, args.home, fresh=True)
        else:
            with tempfile.TemporaryDirectory(prefix="kapcds-measure-") as home:
                row = _measure(total, home, fresh=True)
        if args.json:
            sys.stdout.write(json.dumps(row) + "\n")
        log.info("%6d patients | fresh server: sign-in page %.2f s, first page (Home) %.2f s, "
                 "candidate review %.2f s, progress %.2f s, cohort %.2f s, peak RSS %.0f MiB | "
                 "restarted: sign-in page %.2f s, first page %.2f s, candidate review %.2f s, "
                 "cohort %.2f s, peak RSS %.0f MiB", total, row["signin_page_s"],
                 row["first_page_s"], row["candidate_review_s"], row["progress_s"],
                 row["cohort_s"], row["peak_rss_mib"], row["restart_signin_page_s"],
                 row["restart_first_page_s"], row["restart_candidate_review_s"],
                 row["restart_cohort_s"], row["restart_peak_rss_mib"])


if __name__ == "__main__":
    main()
