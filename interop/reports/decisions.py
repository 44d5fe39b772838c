"""The clinician-decision lines of the patient report, read from the store (issue 30).

A printed report that showed the screen and the predictions but not what the clinician then
decided (and why, when it departed from the suggestion) would let a reader take the
suggestion for the decision. The lines are the append-only record
(``records.repository.decisions_for``), oldest first, in the clinic's time zone.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from base.clock import clinic_text
from records.repository import decisions_for


def _wording(code: str) -> str:
    """'proceed_with_cautions' → 'proceed with cautions' (the dashboard's wording)."""
    return code.replace("_", " ")


def decision_lines(session: Session, patient_id: str) -> list[str]:
    """One plain sentence per recorded decision: when, what, who, the suggestion, the reason.

    Reasons are typed by users: the report escapes them as text (``patient_report._p``).
    """
    lines = []
    for d in decisions_for(session, patient_id):
        who = d.clinician + (f" ({_wording(d.role)})" if d.role else "")
        line = (f"{clinic_text(d.created_at)}: {_wording(d.decision)}, by {who}; "
                f"suggested by the screen: {_wording(d.suggested)}")
        if d.model_version:
            line += f"; model {d.model_version}"
        lines.append(line + (f". Reason: {d.reason}" if d.reason else ". No reason recorded."))
    return lines
