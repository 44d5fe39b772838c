"""`kapcds` sub-commands for scoring and training past one machine (Dask)."""

from __future__ import annotations

import argparse


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to the parser."""
