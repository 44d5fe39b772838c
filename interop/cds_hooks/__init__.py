"""The CDS Hooks service: settings, EHR authentication, FHIR fetch, cards, HTTP app.
"""

__all__ = [
    "auth",
    "cards",
    "feedback",
    "fetch",
    "guard",
    "orders",
    "safety_cards",
    "service",
    "settings",
]
