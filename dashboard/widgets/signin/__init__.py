"""Signing in and out: the sign-in form and router, the browser cookie, single sign-on, signed-in
browsers.
"""

__all__ = [
    "auth",
    "browser_session",
    "sessions_panel",
    "smart",
    "smart_panel",
    "sso",
]
