"""The CDS Hooks service: settings, EHR authentication, FHIR fetch, cards, HTTP app.
"""

__all__ = [
    "auth",
    "cards",
    "fetch",
    "guard",
    "safety_cards",
    "service",
    "settings",
]
