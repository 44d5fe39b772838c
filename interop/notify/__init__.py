"""Pushing what cannot wait to the clinic: urgent suicide-risk alerts e-mailed to on-call.

Modules: ``urgent`` (who is told, with what, and the audit of each attempt).
"""

__all__ = ["urgent"]
