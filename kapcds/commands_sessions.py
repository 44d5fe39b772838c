"""`kapcds sessions list|revoke` (dashboard sign-in sessions) and `kapcds users set-sso`.

Like the other security commands, whoever runs these acts as the local operator
(``cli:<os user>``, role ``system``); listing and revoking are audited.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kapcds.common import operator, with_session

REASONS = {"sign_out": "signed out", "timeout": "timed out", "revoked": "revoked",
           "disabled": "account disabled"}


def _line(info: Any) -> str:
    state = "active" if info.active else REASONS.get(info.end_reason or "", "ended")
    client = (info.client or "-").replace("\n", " ")[:60]
    return (f"{info.id:>6}  {info.username:<20} {info.role:<15} {info.method:<9} "
            f"{info.created_at:%Y-%m-%d %H:%M}  {info.last_seen_at:%Y-%m-%d %H:%M}  "
            f"{state:<16} {client}\n")


def _list(args: argparse.Namespace) -> int:
    from records.audit.trail import record
    from records.security.policy import SECURITY
    from records.security.signin_sessions import list_sessions

    def work(session: Any) -> int:
        rows = list_sessions(session, active_only=not args.all, username=args.user)
        record(session, operator(), "session_list", SECURITY,
               detail=f"{len(rows)} session(s){' of ' + args.user if args.user else ''}")
        sys.stdout.write(f"{'id':>6}  {'user':<20} {'role':<15} {'method':<9} "
                         f"{'created (UTC)':<16}  {'last seen (UTC)':<16}  {'state':<16} "
                         "browser\n")
        for info in rows:
            sys.stdout.write(_line(info))
        if not rows:
            sys.stdout.write("no active sessions\n" if not args.all else "no sessions\n")
        return 0

    return with_session(work)


def _revoke(args: argparse.Namespace) -> int:
    from records.security.signin_sessions import revoke, revoke_all

    if (args.session_id is None) == (args.user is None):
        raise ValueError("give a session id or --user NAME (not both)")
    if args.user is not None:
        count = with_session(lambda s: revoke_all(s, args.user, operator()))
        sys.stdout.write(f"ended {count} session(s) of {args.user.strip().lower()}\n")
        return 0
    info = with_session(lambda s: revoke(s, args.session_id, operator()))
    sys.stdout.write(f"ended session {info.id} of {info.username}\n")
    return 0


def _set_sso(args: argparse.Namespace) -> int:
    from records.security.sso_accounts import set_sso

    if args.email is None and args.subject is None:
        raise ValueError("give --email and/or --subject (\"\" clears one)")
    user = with_session(lambda s: set_sso(s, args.username, operator(), email=args.email,
                                           subject=args.subject))
    sys.stdout.write(f"user {user.username}: single sign-on e-mail {user.email or '-'}, "
                     f"subject {user.sso_subject or '-'}\n")
    return 0


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add `sessions` to the parser (and `users set-sso`, see ``register_users``)."""
    p = sub.add_parser("sessions", help="dashboard sign-in sessions (list, revoke)",
                       description="Sessions of signed-in browsers. Revoking one signs that "
                       "browser out at its next click, in every tab.")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="ACTION")
    q = verbs.add_parser("list", help="list active sessions (most recently used first)")
    q.add_argument("--all", action="store_true", help="also ended ones (last 500)")
    q.add_argument("--user", help="only this account")
    q.set_defaults(handler=_list)
    q = verbs.add_parser("revoke", help="end a session now (by id, or all of an account)")
    q.add_argument("session_id", nargs="?", type=int, help="id from `kapcds sessions list`")
    q.add_argument("--user", help="end every active session of this account instead")
    q.set_defaults(handler=_revoke)


def register_users(users_verbs: argparse._SubParsersAction) -> None:
    """`kapcds users set-sso NAME [--email E] [--subject S]`."""
    p = users_verbs.add_parser("set-sso", help="set the e-mail / OIDC subject single sign-on "
                               "matches an account by")
    p.add_argument("username")
    p.add_argument("--email", help="the address the identity provider sends (\"\" clears)")
    p.add_argument("--subject", help="the provider's subject (sub) claim (\"\" clears)")
    p.set_defaults(handler=_set_sso)
