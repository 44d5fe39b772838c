"""`kapcds keys`: the installation's signing key.

`kapcds registry migrate` (which unpickled models saved by old releases) was removed in
issue 24: nothing in the installed program unpickles."""

from __future__ import annotations

import argparse
import sys


def _keys_show(args: argparse.Namespace) -> int:
    from base.signing import installation_key

    key = installation_key()
    sys.stdout.write(f"signing key {key.key_id} ({key.path}); public key:\n")
    sys.stdout.write(key.public.pem().decode("ascii"))
    return 0


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to the parser."""
    keys = sub.add_parser("keys", help="this installation's signing key")
    verbs = keys.add_subparsers(dest="verb", required=True, metavar="ACTION")
    verbs.add_parser("show", help="print the key id and the public key (PEM)",
                     ).set_defaults(handler=_keys_show)

