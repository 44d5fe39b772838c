"""Who may see what: the one place mapping roles to pages and data categories.

The dashboard builds its navigation from ``pages_for`` and every page re-checks
``may_open`` before rendering (so a page left out of the menu is not reachable by URL
either); services pick the patient-data view from ``patient_view``. Changing access means
changing this file, and ``tests/security`` pins it.
"""

from __future__ import annotations

from dataclasses import dataclass

CLINICIAN, DATA_SCIENTIST, TRAINEE, ADMIN = "clinician", "data_scientist", "trainee", "admin"
ROLES = (CLINICIAN, DATA_SCIENTIST, TRAINEE, ADMIN)
SYSTEM_ROLE = "system"  # the local operator running `kapcds` commands (audit entries only)

# Data categories, most to least identifying for patient data, then the non-patient ones.
IDENTIFIED = "identified"  # names, patient ids, real dates, free text (PHI)
PSEUDONYMISED = "pseudonymised"  # patient ids and clinical values, no names or free text
DEIDENTIFIED = "deidentified"  # stable pseudonyms, shifted dates, no identifiers at all
AGGREGATE = "aggregate"  # counts, metrics, distributions: no row per patient
MODEL = "model"  # training, evaluation, promotion, model cards
SECURITY = "security"  # user accounts and sign-ins
AUDIT = "audit"  # the audit trail itself
CATEGORIES = (IDENTIFIED, PSEUDONYMISED, DEIDENTIFIED, AGGREGATE, MODEL, SECURITY, AUDIT)
PATIENT_VIEWS = (IDENTIFIED, PSEUDONYMISED, DEIDENTIFIED)

# Page keys are the file names of dashboard/views/ without ".py", in menu order.
PAGES = ("home", "candidate_review", "compare", "progress", "data_entry", "cohort",
         "what_if", "model_lab", "monitoring", "audit", "users")

_PAGES: dict[str, frozenset[str]] = {
    CLINICIAN: frozenset({"home", "candidate_review", "compare", "progress", "data_entry",
                          "cohort", "what_if"}),
    DATA_SCIENTIST: frozenset({"home", "cohort", "what_if", "model_lab", "monitoring"}),
    TRAINEE: frozenset({"home", "cohort", "what_if"}),
    ADMIN: frozenset({"home", "audit", "users"}),
}
_CATEGORIES: dict[str, frozenset[str]] = {
    CLINICIAN: frozenset({IDENTIFIED, PSEUDONYMISED, DEIDENTIFIED, AGGREGATE, MODEL}),
    DATA_SCIENTIST: frozenset({PSEUDONYMISED, DEIDENTIFIED, AGGREGATE, MODEL}),
    TRAINEE: frozenset({DEIDENTIFIED, AGGREGATE}),
    ADMIN: frozenset({AGGREGATE, SECURITY, AUDIT}),
}


# Authority order for role changes (issue 23 defect 6; docs/security.md): an administrator
# manages accounts and the audit trail; a clinician and a data scientist rank alike (other
# data, not more of it); a trainee sees de-identified data only. A change to a role that does
# not rank strictly higher takes authority or access away, and the dashboard asks first.
ROLE_RANK: dict[str, int] = {ADMIN: 3, CLINICIAN: 2, DATA_SCIENTIST: 2, TRAINEE: 1}


def lowers_role(old: str, new: str) -> bool:
    """Whether ``old`` → ``new`` takes something away: a lower rank, or a move sideways
    between clinician and data scientist (each loses pages the other has)."""
    check_role(new)
    return old != new and ROLE_RANK[new] <= ROLE_RANK.get(old, 0)


class AccessDenied(PermissionError):
    """The signed-in role may not open this page or see this category of data."""


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the audit trail records it (role None: not signed in)."""

    username: str
    role: str | None


def check_role(role: str) -> str:
    """``role`` if it is one of ``ROLES`` (ValueError naming the allowed ones otherwise)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def pages_for(role: str | None) -> list[str]:
    """The pages ``role`` may open, in menu order (none for an unknown or missing role)."""
    allowed = _PAGES.get(role or "", frozenset())
    return [page for page in PAGES if page in allowed]


def may_open(role: str | None, page: str) -> bool:
    """Whether ``role`` may open ``page`` (unknown pages are closed to everyone)."""
    return page in _PAGES.get(role or "", frozenset())


def may_access(role: str | None, category: str) -> bool:
    """Whether ``role`` may see data of ``category``."""
    return category in _CATEGORIES.get(role or "", frozenset())


def categories_for(role: str | None) -> frozenset[str]:
    """Every data category ``role`` may see."""
    return _CATEGORIES.get(role or "", frozenset())


def patient_view(role: str | None) -> str | None:
    """The most identifying patient-data view ``role`` may have (None: no patient rows)."""
    return next((view for view in PATIENT_VIEWS if may_access(role, view)), None)


def require_page(role: str | None, page: str) -> None:
    """Raise ``AccessDenied`` unless ``role`` may open ``page``."""
    if not may_open(role, page):
        raise AccessDenied(f"the {role or 'signed-out'} role may not open the "
                           f"{page.replace('_', ' ')} page")


def require_category(role: str | None, category: str) -> None:
    """Raise ``AccessDenied`` unless ``role`` may see ``category`` data."""
    if not may_access(role, category):
        raise AccessDenied(f"the {role or 'signed-out'} role may not see {category} data")
