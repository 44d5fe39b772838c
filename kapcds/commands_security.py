"""`kapcds` sub-commands for users, the audit trail and backups.

Whoever runs these has the data folder in hand, so they act as the local operator: audit
entries name them ``cli:<os user>`` with the role ``system``.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from base.clock import clinic_text
from kapcds.common import add_registry, operator, with_session

log = logging.getLogger(__name__)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValueError("no terminal to ask for the password on; use --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _users_add(args: argparse.Namespace) -> int:
    from records.security.users import create_user

    password = None if args.sso_only else _read_password(args)
    with_session(lambda s: create_user(s, args.username, password, args.role, operator(),
                                        email=args.email))
    sys.stdout.write(f"added user {args.username.strip().lower()} ({args.role})\n")
    return 0


def _users_passwd(args: argparse.Namespace) -> int:
    from records.security.users import set_password

    password = _read_password(args)
    with_session(lambda s: set_password(s, args.username, password, operator()))
    sys.stdout.write(f"password of {args.username} changed\n")
    return 0


def _users_active(active: bool) -> Any:
    def handler(args: argparse.Namespace) -> int:
        from records.security.users import set_active

        with_session(lambda s: set_active(s, args.username, active, operator()))
        sys.stdout.write(f"user {args.username} {'enabled' if active else 'disabled'}\n")
        return 0
    return handler


def _users_set_role(args: argparse.Namespace) -> int:
    from records.security.users import set_role

    with_session(lambda s: set_role(s, args.username, args.role, operator()))
    sys.stdout.write(f"user {args.username} is now {args.role}\n")
    return 0


def _users_list(args: argparse.Namespace) -> int:
    from records.security.users import list_users

    def work(session: Any) -> int:
        for user in list_users(session):
            locked = f" locked until {clinic_text(user.locked_until)}" if (
                user.locked_until and user.locked_until > datetime.now(timezone.utc)) else ""
            sys.stdout.write(f"{user.username:<24} {user.role:<15} "
                             f"{'active' if user.active else 'disabled'}{locked}\n")
        return 0

    return with_session(work)


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _audit_verify(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from records.audit.trail import record, verify
    from records.security.policy import AUDIT

    def work(session: Any) -> int:
        report = verify(session, source=args.anchor)
        sys.stdout.write(f"{report}\n")
        try:
            record(session, operator(), "audit_verify", AUDIT,
                   outcome="success" if report.ok else "failure", detail=str(report)[:2000])
            session.flush()
        except SQLAlchemyError as exc:  # a damaged chain may not take another entry
            session.rollback()
            log.warning("could not audit this verification (%s)", type(exc).__name__)
            sys.stderr.write("kapcds audit verify: the verification itself could not be "
                             "recorded in the damaged audit trail\n")
        return 0 if report.ok else 1

    return with_session(work)


def _audit_export(args: argparse.Namespace) -> int:
    from base.files import write_atomically
    from records.audit.trail import AuditFilter, export_csv, record
    from records.security.policy import AUDIT

    filters = AuditFilter(since=args.since, until=args.until, username=args.user,
                          patient_id=args.patient, action=args.action, outcome=args.outcome)

    def work(session: Any) -> int:
        record(session, operator(), "audit_export", AUDIT, detail=f"to {args.out}")
        session.flush()
        write_atomically(args.out, export_csv(session, filters))
        return 0

    with_session(work)
    sys.stdout.write(f"wrote the audit log to {args.out}\n")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from records.backup.create import backup

    report = backup(args.out, registry_dir=args.registry, actor=operator())
    sys.stdout.write(f"backup written to {report.folder}: {report.counts}; "
                     f"{len(report.registry_versions)} model version(s); {report.chain}\n")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from records.backup.restore import restore

    report = restore(args.folder, registry_dir=args.registry, force=args.force,
                     actor=operator(), trust_key=args.trust_key)
    sys.stdout.write(f"restored into {report.folder}: {report.counts}; current model "
                     f"{report.current_version}; {report.chain}\n")
    return 0


def _add_password(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of stdin (no prompt)")



def register_all(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to the parser."""
    users = sub.add_parser("users", help="dashboard accounts (add, disable, roles, list)")
    verbs = users.add_subparsers(dest="verb", required=True, metavar="ACTION")
    roles = "clinician, data_scientist, trainee or admin"
    p = verbs.add_parser("add", help="add an account (asks for the password)")
    p.add_argument("username")
    p.add_argument("--role", required=True, help=roles)
    p.add_argument("--email", help="e-mail address single sign-on matches the account by")
    p.add_argument("--sso-only", action="store_true",
                   help="no password: the account signs in only through single sign-on")
    _add_password(p)
    p.set_defaults(handler=_users_add)
    p = verbs.add_parser("passwd", help="set a new password (also lifts a lockout)")
    p.add_argument("username")
    _add_password(p)
    p.set_defaults(handler=_users_passwd)
    for verb, active in (("disable", False), ("enable", True)):
        p = verbs.add_parser(verb, help=f"{verb} an account")
        p.add_argument("username")
        p.set_defaults(handler=_users_active(active))
    p = verbs.add_parser("set-role", help="change an account's role")
    p.add_argument("username")
    p.add_argument("role", help=roles)
    p.set_defaults(handler=_users_set_role)
    verbs.add_parser("list", help="list accounts").set_defaults(handler=_users_list)
    from kapcds.commands_sessions import register_users

    register_users(verbs)

    trail = sub.add_parser("audit", help="verify or export the audit trail")
    verbs = trail.add_subparsers(dest="verb", required=True, metavar="ACTION")
    p = verbs.add_parser("verify", help="check the hash chain (exit 1 at the first broken link)")
    p.add_argument("--anchor", type=Path, default=None, metavar="SOURCE",
                   help="also check against the second checkpoint sink: the folder of "
                   "KAPCDS_AUDIT_ANCHOR_DIR, or a file of syslog lines")
    p.set_defaults(handler=_audit_verify)
    p = verbs.add_parser("export", help="write audit entries to a CSV file")
    p.add_argument("--out", type=Path, required=True, help="CSV file (written whole)")
    p.add_argument("--since", type=_when, help="from this ISO time (UTC if no zone)")
    p.add_argument("--until", type=_when, help="before this ISO time")
    p.add_argument("--user", help="only this username")
    p.add_argument("--patient", help="only this patient id")
    p.add_argument("--action", help="only this action (e.g. login, patient_view)")
    p.add_argument("--outcome", choices=["success", "failure", "denied"])
    p.set_defaults(handler=_audit_export)

    p = sub.add_parser("backup", help="back up the SQLite store and the model registry",
                       description="Online SQLite backup plus a manifest-checked copy of "
                       "the registry, into a new folder with SHA-256 of every file.")
    p.add_argument("--out", type=Path, required=True, help="new, empty backup folder")
    add_registry(p)
    p.set_defaults(handler=_backup)
    p = sub.add_parser("restore", help="restore a backup made by `kapcds backup`",
                       description="Checks the signature, every file, the database and "
                       "the audit chain first; refuses to replace a store with data unless "
                       "--force.")
    p.add_argument("folder", type=Path, help="backup folder")
    add_registry(p)
    p.add_argument("--force", action="store_true",
                   help="replace a store that holds data (a copy of it is kept)")
    p.add_argument("--trust-key", type=Path, metavar="FILE",
                   help="accept a backup signed by this public key (another installation's "
                   "signing.pub); the trust step is audited")
    p.set_defaults(handler=_restore)
