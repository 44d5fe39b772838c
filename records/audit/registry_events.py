"""Audit callbacks the model registry calls (issue 24): a promotion's entry is committed
before the promotion takes effect, and a refused ``CURRENT`` pointer leaves an entry too.

The registry (``models.store``) cannot import the store, so the entry points that own an
engine hand these callbacks to ``Registry(refused=...)`` and ``Registry.promote(audit=...)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from records.audit.trail import record_now
from records.security.policy import MODEL, SECURITY, Actor

log = logging.getLogger(__name__)
_SEEN: set[tuple[str, str]] = set()


def promotion_detail(record: dict[str, Any]) -> str:
    """The audit text of a promotion record: id, version, previous, who and why."""
    return (f"promotion {record.get('id')}: {record.get('version')} "
            f"(was {record.get('previous')}) by {record.get('by')}: "
            f"{record.get('reason') or 'no reason given'}")[:2000]


def promotion_audit(engine: Engine, actor: Actor,
                    review: str | None = None) -> Callable[[dict[str, Any]], None]:
    """A ``Registry.promote`` audit callback committing a ``model_promotion`` entry: the
    promotion review's text (issue 23) first when there is one, then the signed record's."""

    def audit(record: dict[str, Any]) -> None:
        detail = promotion_detail(record)
        record_now(engine, actor, "model_promotion", MODEL,
                   detail=f"{review}; {detail}"[:2000] if review else detail)

    return audit


def refusal_audit(engine: Engine, actor: Actor) -> Callable[[str], None]:
    """A ``Registry(refused=...)`` callback: one ``integrity_failure`` entry per message and
    store in this process (a page that reads the registry on every rerun does not flood the
    trail)."""

    def refused(message: str) -> None:
        key = (engine.url.render_as_string(hide_password=True), message)
        if key in _SEEN:
            return
        _SEEN.add(key)
        try:
            record_now(engine, actor, "integrity_failure", SECURITY, outcome="failure",
                       detail=f"model registry: {message}"[:2000])
        except Exception:  # noqa: BLE001 - the refusal itself still stands
            log.exception("could not audit the refused registry pointer")

    return refused
