"""Heading levels on the dashboard: the page title (h1) is followed by h2 sections, never h3.

axe's ``heading-order`` rule (checked in the browser by tests/e2e/test_accessibility.py, about
seven minutes) flagged 14 page views where a page went from ``st.title`` straight to
``st.subheader``. This fast check keeps the source from drifting back between browser runs.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# st.subheader (h3) or a Markdown heading of level 3 or deeper in a string literal
SKIPPING = re.compile(r"st\.subheader\(|[\"']#{3,6} ")


def test_no_dashboard_code_draws_an_h3_under_the_title() -> None:
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted((ROOT / "dashboard").rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if SKIPPING.search(line)]
    assert not found, "use st.header (h2) for a section under the title:\n" + "\n".join(found)


def test_the_theme_draws_sections_at_the_old_subheader_size() -> None:
    """h2 at 1.75rem (Streamlit's h3 size), so the fix does not make the pages louder."""
    config = (ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    theme = config.split("[theme]", 1)[1].split("\n[", 1)[0]  # tomllib needs Python 3.11
    assert re.search(r'^headingFontSizes = \["2\.75rem", "1\.75rem"', theme, re.M), theme
