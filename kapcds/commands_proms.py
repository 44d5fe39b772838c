"""`kapcds proms …` and `kapcds serve-proms`: patient questionnaires by one-time link.

- ``proms invite PATIENT_ID [--instrument phq9,gad7] [--email ADDR] [--qr FILE.svg]``
  prints one link per questionnaire (and e-mails them; settings in docs/proms.md).
- ``proms remind`` e-mails the reminders that are due (run it from cron, e.g. hourly).
- ``proms send-due`` e-mails a link for each due occasion (cron, e.g. daily);
  ``proms schedule PATIENT_ID …`` sets a patient's schedule and address.
- ``proms due [PATIENT_ID]`` prints due / overdue / completed occasions.
- ``proms alerts`` lists open urgent alerts (acknowledge them on the dashboard).
- ``proms export PATIENT_ID [--out FILE|-]``: FHIR QuestionnaireResponses in a Bundle.
- ``serve-proms [--host] [--port]`` runs the patient app.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def _instruments(text: str) -> list[str]:
    from models.clinical.prom_instruments import instrument

    keys = [k.strip().lower() for k in text.split(",") if k.strip()]
    for key in keys:
        instrument(key)  # ValueError names the allowed ones
    return keys


def _invite(args: argparse.Namespace) -> int:
    from interop.patient_app.delivery import qr_svg
    from interop.patient_app.outbox import invite
    from kapcds.common import operator, with_session

    links = with_session(lambda s: invite(
        s, args.patient_id, _instruments(args.instrument), operator(), email=args.email,
        clinician=args.clinician))
    for link in links:
        sent = f" (e-mailed to {link.emailed_to})" if link.emailed_to else ""
        sys.stdout.write(f"{link.instrument}: {link.url}  valid until "
                         f"{link.expires_at.isoformat(timespec='minutes')}{sent}\n")
        if args.qr is not None:
            target = args.qr if len(links) == 1 else args.qr.with_name(
                f"{args.qr.stem}-{link.instrument}{args.qr.suffix}")
            target.write_text(qr_svg(link.url), encoding="utf-8")
            sys.stdout.write(f"QR code: {target}\n")
    return 0


def _remind(args: argparse.Namespace) -> int:
    from interop.patient_app.outbox import send_reminders
    from kapcds.common import with_session

    sent, problems = with_session(send_reminders)
    for problem in problems:
        sys.stderr.write(f"not sent: {problem}\n")
    sys.stdout.write(f"{sent} reminder(s) sent\n")
    return 1 if problems else 0


def _send_due(args: argparse.Namespace) -> int:
    from interop.patient_app.outbox import send_due
    from kapcds.common import operator, with_session

    sent, problems = with_session(lambda s: send_due(s, operator()))
    for problem in problems:
        sys.stderr.write(f"not sent: {problem}\n")
    sys.stdout.write(f"{len(sent)} questionnaire link(s) e-mailed\n")
    return 1 if problems else 0


def _schedule(args: argparse.Namespace) -> int:
    from kapcds.common import operator, with_session
    from models.clinical.prom_schedule import DEFAULT_SCHEDULE, Schedule
    from records.proms.schedules import set_schedule

    weeks = DEFAULT_SCHEDULE.followup_weeks if args.followup_weeks is None else tuple(
        int(w) for w in args.followup_weeks.split(",") if w.strip())
    schedule = Schedule(tuple(_instruments(args.instruments)), not args.no_before_sessions,
                        not args.no_weekly, weeks)
    with_session(lambda s: set_schedule(s, args.patient_id, schedule, operator(),
                                        email=args.email, clinician=args.clinician))
    sys.stdout.write(f"schedule of {args.patient_id}: {schedule}\n")
    return 0


def _due(args: argparse.Namespace) -> int:
    from kapcds.common import with_session
    from records.proms.schedules import enrolled_patients, patient_occasions

    def work(session) -> list[str]:  # noqa: ANN001
        ids = [args.patient_id] if args.patient_id else enrolled_patients(session)
        lines = []
        for pid in ids:
            found, missing = patient_occasions(session, pid)
            lines += [f"{pid}\t{o.instrument}\t{o.label}\t{o.status}\t"
                      f"{o.answered_on or ''}" for o in found]
            lines += [f"{pid}\t-\t-\tnot scheduled: {m}" for m in missing]
        return lines

    for line in with_session(work):
        sys.stdout.write(line + "\n")
    return 0


def _alerts(args: argparse.Namespace) -> int:
    from kapcds.common import with_session
    from records.proms.alerts import alerts

    for row in with_session(lambda s: alerts(s)):
        sys.stdout.write(f"{row.id}\t{row.patient_id}\t{row.raised_at.isoformat()}\t"
                         f"{row.clinician or '-'}\tURGENT: {row.reason}\n")
    return 0


def _export(args: argparse.Namespace) -> int:
    from interop.fhir.exporter.questionnaire import submissions_bundle
    from kapcds.common import with_session
    from records.proms.submissions import submissions

    def work(session) -> dict:  # noqa: ANN001
        rows = [{"id": s.id, "instrument": s.instrument, "answers": s.answers,
                 "total": s.total, "answered_at": s.answered_at.isoformat()}
                for s in submissions(session, args.patient_id)]
        return submissions_bundle(args.patient_id, rows)

    text = json.dumps(with_session(work), indent=2)
    if str(args.out) == "-":
        sys.stdout.write(text + "\n")
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from base.proms_settings import prom_settings
    from interop.patient_app.app import create_app
    from records.first_run import ensure_store

    settings = prom_settings()
    host, port = args.host or settings.host, args.port or settings.port
    app = create_app(ensure_store(), settings)
    sys.stdout.write(f"patient questionnaires on http://{host}:{port}/q/<token> "
                     f"(links use {settings.public_url})\n")
    sys.stdout.flush()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    return 0


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add `proms` and `serve-proms`."""
    p = sub.add_parser("proms", help="patient questionnaires by one-time link")
    inner = p.add_subparsers(dest="proms_command", required=True, metavar="ACTION")
    q = inner.add_parser("invite", help="create (and e-mail) questionnaire links")
    q.add_argument("patient_id")
    q.add_argument("--instrument", default="phq9", help="comma-separated: phq9, gad7, "
                   "cssrs (default: phq9)")
    q.add_argument("--email", default=None, help="e-mail the links to this address")
    q.add_argument("--clinician", default=None, help="who receives urgent alerts "
                   "(default: you)")
    q.add_argument("--qr", type=Path, default=None, help="also write the link as an SVG "
                   "QR code to this file")
    q.set_defaults(handler=_invite)
    inner.add_parser("remind", help="e-mail due reminders").set_defaults(handler=_remind)
    inner.add_parser("send-due", help="e-mail a link for every due questionnaire (patients "
                     "whose schedule has an address)").set_defaults(handler=_send_due)
    c = inner.add_parser("schedule", help="set a patient's questionnaire schedule (else the "
                         "clinic default)")
    c.add_argument("patient_id")
    c.add_argument("--instruments", default="phq9,gad7,cssrs")
    c.add_argument("--no-before-sessions", action="store_true")
    c.add_argument("--no-weekly", action="store_true", help="no weekly questionnaire during "
                   "induction")
    c.add_argument("--followup-weeks", default=None, help="e.g. 1,2,4,8,12 (default: "
                   "weekly to week 12)")
    c.add_argument("--email", default=None, help="where links go")
    c.add_argument("--clinician", default=None, help="who receives urgent alerts")
    c.set_defaults(handler=_schedule)
    d = inner.add_parser("due", help="due, overdue and completed questionnaires")
    d.add_argument("patient_id", nargs="?", default=None)
    d.set_defaults(handler=_due)
    inner.add_parser("alerts", help="open urgent alerts").set_defaults(handler=_alerts)
    e = inner.add_parser("export", help="FHIR QuestionnaireResponses (Bundle JSON)")
    e.add_argument("patient_id")
    e.add_argument("--out", type=Path, default=Path("-"), help="file, or - for stdout")
    e.set_defaults(handler=_export)
    s = sub.add_parser("serve-proms", help="serve the patient questionnaire app",
                       description="The patient app: questionnaires by one-time link, no "
                       "account, no JavaScript (docs/proms.md). Listens on 127.0.0.1 unless "
                       "told; put it behind the clinic's HTTPS reverse proxy.")
    s.add_argument("--host", default=None, help="address (default KAPCDS_PROMS_HOST or "
                   "127.0.0.1)")
    s.add_argument("--port", type=int, default=None, help="port (default KAPCDS_PROMS_PORT "
                   "or 8780)")
    s.set_defaults(handler=_serve)
