"""`kapcds` sub-commands for users, audit trail, backups."""

from __future__ import annotations

import argparse


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to the parser."""
