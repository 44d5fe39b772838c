"""The `kapcds` command line: one entry point for everything a user may script."""

from __future__ import annotations

import argparse
import logging
import sys

from kapcds import (
    commands,
    commands_card,
    commands_cds,
    commands_fhir_export,
    commands_followup,
    commands_interop,
    commands_jobs,
    commands_keys,
    commands_lifecycle,
    commands_proms,
    commands_scale,
    commands_security,
    commands_sessions,
    commands_update,
)

log = logging.getLogger("kapcds")


class CliError(Exception):
    """A failure reported to the user as one line, with a non-zero exit code."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per job."""
    parser = argparse.ArgumentParser(
        prog="kapcds",
        description="KAP-CDS: decision support for ketamine-assisted psychotherapy. Models are "
        "trained on synthetic data; output is decision support, not a decision.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (commands, commands_lifecycle, commands_jobs, commands_interop,
                   commands_scale, commands_security, commands_cds, commands_keys,
                   commands_sessions, commands_followup, commands_fhir_export,
                   commands_card, commands_proms, commands_update):
        module.register_all(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; exit 0 on success, 1 with a one-line reason on failure."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("kapcds: interrupted\n")
        return 130
    except Exception as error:  # noqa: BLE001 - every failure becomes one readable line
        if args.verbose:
            log.exception("command failed")
        from base.settings import home_dir
        from records.errors import storage_problem

        message = storage_problem(error, home_dir()) or (
            error.summary() if hasattr(error, "summary") else str(error))
        sys.stderr.write(f"kapcds {args.command}: error: {message}\n")
        if hasattr(error, "errors") and len(getattr(error, "errors", [])) > 1:
            sys.stderr.write(str(error) + "\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
