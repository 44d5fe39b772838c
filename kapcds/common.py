"""What the `kapcds` sub-command modules share: progress bars, the registry and model
options, the store and the audit entry of each command.

Kept below every ``commands_*`` module so none of them imports another (no import circles,
no private names across modules).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from base import settings

Progress = Callable[[int, int, str], None]


@contextmanager
def progress_bar(description: str) -> Iterator[Progress]:
    """A tqdm bar on stderr driven by the (step, total, message) callbacks of long jobs."""
    from tqdm import tqdm

    bar = tqdm(desc=description, unit="step", file=sys.stderr, leave=False, disable=None)

    def update(step: int, total: int, message: str) -> None:
        bar.total = total
        bar.set_postfix_str(message[:40])
        bar.update(step - bar.n)

    try:
        yield update
    finally:
        bar.close()


def registry(args: argparse.Namespace):
    """The model registry the command names (``--registry``); a refused ``CURRENT``
    pointer is audited (issue 24)."""
    from models.store.registry import Registry

    return Registry(args.registry, refused=_refused)


def _refused(message: str) -> None:
    record_cli("integrity_failure", "security", outcome="failure",
               detail=f"model registry: {message}"[:2000])


def promotion_audit(review: str | None = None) -> Callable[[dict[str, Any]], None]:
    """A ``Registry.promote`` audit callback: the CLI's ``model_promotion`` entry, committed
    before the promotion takes effect."""

    def audit(record: dict[str, Any]) -> None:
        from records.audit.registry_events import promotion_detail

        detail = promotion_detail(record)  # the review (issue 23) first, then the record
        record_cli("model_promotion", "model",
                   detail=f"{review}; {detail}"[:2000] if review else detail)

    return audit


def load_model(args: argparse.Namespace):
    """The named version, or the current one (a first model trained when there is none)."""
    from training.lifecycle.first_run import ensure_model

    if getattr(args, "version", None) is None:
        registry(args).current_version()  # an edited CURRENT: refused and audited first
        with progress_bar("first run: training a first model") as update:
            ensure_model(args.registry, progress=update, audit=promotion_audit())
    return registry(args).load(getattr(args, "version", None))


def add_registry(parser: argparse.ArgumentParser) -> None:
    """The ``--registry`` option every model command takes."""
    parser.add_argument("--registry", type=Path, default=settings.default_registry_dir(),
                        help="model registry folder (default: %(default)s)")


def add_version(parser: argparse.ArgumentParser) -> None:
    """The ``--version`` option (default: the current version)."""
    parser.add_argument("--version", default=None,
                        help="model version (default: the current one)")


def operator() -> Any:
    """The audit actor for a command run from this machine's shell."""
    from records.security.policy import SYSTEM_ROLE, Actor

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor(f"cli:{name}", SYSTEM_ROLE)


def store_engine() -> Any:
    """The configured store, migrated to the newest schema."""
    from records.db import make_engine
    from records.migrate import upgrade

    engine = make_engine(settings.default_database_url())
    upgrade(engine)
    return engine


def record_cli(action: str, category: str, **details: Any) -> None:
    """Write one audit entry for a command (the store is migrated first if needed)."""
    from records.audit.trail import record_now

    engine = store_engine()
    try:
        record_now(engine, operator(), action, category, **details)
    finally:
        engine.dispose()


@contextmanager
def audited(action: str, category: str, detail: str = "") -> Iterator[dict[str, str]]:
    """Audit a command's work: success with ``note["detail"]``, or failure with the error."""
    note = {"detail": detail}
    try:
        yield note
    except Exception as error:
        record_cli(action, category, outcome="failure", detail=f"{note['detail']}: {error}"[:2000])
        raise
    record_cli(action, category, detail=note["detail"] or None)


def with_session(work: Any) -> int:
    """Run ``work(session)`` in one committed transaction on the store."""
    from records.db import session_factory

    engine = store_engine()
    try:
        with session_factory(engine)() as session:
            result = work(session)
            session.commit()
            return result
    finally:
        engine.dispose()
