"""Time to first render of Candidate review with 2,000 and 5,000 patients (run by hand).

    python tests/app/measure_first_render.py [--patients 2000 5000 100000]

Each size runs in its own subprocess (empty Streamlit caches, like a fresh server): the
store is bootstrapped in a temporary KAPCDS_HOME (seeded with the 2,000 samples, model
trained), topped up with generated patients, a clinician account is made and signed in
(a server-side session whose token the tab holds, as after the sign-in form), then
AppTest opens Candidate review three times: cold (model load + cohort predictions), a new
session (warm caches) and a rerun. The child's peak RSS is reported too.
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
    from records.bulk import import_patients_and_sessions
    from records.db import session_factory
    from records.repository import patient_count
    from training.generate import generate_cohort

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
    from records import sessions
    from records.db import session_factory
    from records.policy import Actor
    from records.users import create_user

    with session_factory(engine)() as session:  # type: ignore[arg-type]
        if create:
            create_user(session, USERNAME, PASSWORD, "clinician", Actor("measure", "system"))
        token = sessions.start(session, USERNAME, "password")
        session.commit()
    return token


def _one(total: int, restart: bool = False) -> dict[str, float]:
    """Run in a fresh process: bootstrap, top up, then time three renders (``restart``: the
    same home again, as a restarted server: store, model and on-disk caches kept)."""
    started = time.perf_counter()
    from streamlit.testing.v1 import AppTest

    from dashboard.services.startup import ensure_ready
    from dashboard.widgets.browser_session import TOKEN_KEY

    imports = time.perf_counter() - started
    ready = ensure_ready()
    _top_up(ready.engine, total)
    token = _sign_in_token(ready.engine, create=not restart)
    result = {"patients": float(total), "imports_s": imports}
    at = AppTest.from_file(str(APP), default_timeout=600)
    at.session_state[TOKEN_KEY] = token
    for label in ("cold_s", "new_session_s", "rerun_s"):
        if label == "new_session_s":
            at = AppTest.from_file(str(APP), default_timeout=600)
            at.session_state[TOKEN_KEY] = token
        if label != "rerun_s":
            at.switch_page("views/candidate_review.py")
        t0 = time.perf_counter()
        at.run()
        result[label] = time.perf_counter() - t0
        assert not at.exception, [e.value for e in at.exception]
        assert f"of {total:,} patients match" in " ".join(c.value for c in at.caption)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--json", action="store_true", help="one JSON line per size")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--restart", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.child:
        sys.stdout.write(json.dumps(_one(args.child, args.restart)) + "\n")
        return
    for total in args.patients:
        with tempfile.TemporaryDirectory(prefix="kapcds-measure-") as home:
            env = {**os.environ, "KAPCDS_HOME": home, "KAPCDS_BCRYPT_ROUNDS": "4",
                   "KAPCDS_ADMIN_PASSWORD": "measure-first-render admin password"}
            env.pop("KAPCDS_DATABASE_URL", None)
            rows = []
            for extra in ([], ["--restart"]):  # a fresh server, then a restarted one
                out = subprocess.run([sys.executable, __file__, "--child", str(total), *extra],
                                     env=env, check=True, capture_output=True, text=True).stdout
                rows.append(json.loads(out.strip().splitlines()[-1]))
            row = {**rows[0], "restart_cold_s": rows[1]["cold_s"],
                   "restart_peak_rss_mib": rows[1]["peak_rss_mib"]}
            if args.json:
                sys.stdout.write(json.dumps(row) + "\n")
            log.info("%5d patients: imports %.1f s | cold first render %.2f s | new session "
                     "%.2f s | rerun %.2f s | peak RSS %.0f MiB | restarted server: first "
                     "render %.2f s, peak RSS %.0f MiB", total, row["imports_s"],
                     row["cold_s"], row["new_session_s"], row["rerun_s"], row["peak_rss_mib"],
                     row["restart_cold_s"], row["restart_peak_rss_mib"])


if __name__ == "__main__":
    main()
