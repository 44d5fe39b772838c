"""Who acts in the service layer, what they may do, and the audit entries of what they did.

Pages get a ``SignedInWorkspace`` from ``components.start_page``: the usual workspace plus
the signed-in ``Actor``. Writers call ``require`` (no actor or the wrong role: refused, so
a page bug cannot bypass the policy) and record their audit entry in their own
transaction; views call ``record_view`` (no Streamlit here: tests call these directly).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields

from dashboard.services.workspace import Workspace
from records.audit import trail as audit
from records.security.policy import AccessDenied, Actor, require_category

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignedInWorkspace(Workspace):
    """A workspace used on behalf of a signed-in user."""

    actor: Actor | None = None


def with_actor(ws: Workspace, actor: Actor) -> SignedInWorkspace:
    """``ws`` acting for ``actor`` (every workspace field copied, whatever they are)."""
    base = {f.name: getattr(ws, f.name) for f in fields(Workspace)}
    return SignedInWorkspace(**base, actor=actor)


def actor_of(ws: Workspace) -> Actor:
    """The signed-in actor; ``AccessDenied`` when there is none (nothing is anonymous)."""
    actor = getattr(ws, "actor", None)
    if actor is None:
        raise AccessDenied("sign in first: every action here is recorded under a user")
    return actor


def require(ws: Workspace, category: str) -> Actor:
    """The actor, if their role may work with ``category`` data (``AccessDenied`` if not)."""
    actor = actor_of(ws)
    require_category(actor.role, category)
    return actor


def record_view(ws: Workspace, action: str, category: str, patient_id: str | None = None,
                detail: str | None = None, outcome: str = "success") -> None:
    """Commit one audit entry for something shown (or refused) to the signed-in user."""
    audit.record_now(ws.engine, actor_of(ws), action, category, patient_id=patient_id,
                     detail=detail, outcome=outcome)


def record_failure(ws: Workspace, action: str, category: str, patient_id: str | None,
                   error: BaseException) -> None:
    """An attempted write that the store refused, in its own transaction."""
    try:
        record_view(ws, action, category, patient_id, f"{type(error).__name__}: {error}"[:2000],
                    outcome="failure")
    except Exception:  # noqa: BLE001 - never hide the user's error behind an audit error
        log.exception("could not audit the failed %s of %s", action, patient_id)


def audited_download(ws: Workspace, action: str, category: str, make: Callable[[], str],
                     detail: str | None = None) -> Callable[[], str]:
    """A download's deferred content: made, and audited, only when the user clicks."""
    def build() -> str:
        text = make()
        record_view(ws, action, category, detail=detail)
        return text

    return build
