"""Patient-reported outcomes in the store: links, submissions, urgent alerts, schedules.
"""

__all__ = [
    "alerts",
    "invitations",
    "schedules",
    "submissions",
]
