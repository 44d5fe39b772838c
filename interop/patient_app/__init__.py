"""The patient questionnaire app: a small server-rendered FastAPI app on its own port.

It serves one thing — the questionnaire a one-time link opens — as plain HTML that works
without JavaScript, and reaches the store only through ``records.proms``. Nothing about the
patient is shown beyond the questionnaire and the clinic's name. See docs/proms.md.
"""

__all__ = [
    "app",
    "delivery",
    "guard",
    "outbox",
    "pages",
]
