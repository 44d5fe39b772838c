"""axe-core in the browser: WCAG 2.1 A/AA rules on the page as it is, and the exceptions.

``axe.min.js`` comes from the project's npm test packages (``package.json``, installed by
``scripts/install-node-deps.sh``). What only Streamlit can fix is listed in
``STREAMLIT_EXCEPTIONS`` (rule id → the DOM it concerns and the upstream issue, mirrored in
``docs/accessibility.md``); a violation is excused only when EVERY node it names lies inside
Streamlit's own markup named there, never a whole rule switched off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
# axe's best-practice structure rules checked as well (any impact fails): a screen-reader user
# jumps by headings, so a skipped level (h1 -> h3) hides where a section sits (issue 30).
HEADING_RULES = ["heading-order"]


@dataclass(frozen=True)
class Exception_:
    """One documented Streamlit-owned exception: rule, the selector its nodes must match."""

    rule: str
    selector_part: str
    upstream: str


STREAMLIT_EXCEPTIONS: tuple[Exception_, ...] = ()


def require_axe() -> str:
    """The axe-core source, or a skip (fail under CI) when the npm packages are missing."""
    if AXE_JS.is_file():
        return AXE_JS.read_text(encoding="utf-8")
    message = f"{AXE_JS} not found: run scripts/install-node-deps.sh (npm install)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError  # unreachable


def run_axe(page: object, source: str) -> list[dict]:
    """Every WCAG 2.1 A/AA violation axe finds on the current page."""
    page.add_script_tag(content=source)  # type: ignore[attr-defined]
    result = page.evaluate(  # type: ignore[attr-defined]
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", WCAG_TAGS)
    return list(result["violations"])


def run_rules(page: object, source: str, rules: list[str]) -> list[dict]:
    """Every violation of the named axe rules (whatever their tags) on the current page."""
    page.add_script_tag(content=source)  # type: ignore[attr-defined]
    result = page.evaluate(  # type: ignore[attr-defined]
        "async (rules) => await axe.run(document, {runOnly: {type: 'rule', values: rules},"
        " resultTypes: ['violations']})", rules)
    return list(result["violations"])


def _excused(violation: dict) -> bool:
    for allowed in STREAMLIT_EXCEPTIONS:
        if allowed.rule == violation["id"] and all(
                any(allowed.selector_part in part for part in node["target"])
                for node in violation["nodes"]):
            return True
    return False


def blocking(violations: list[dict]) -> list[dict]:
    """Serious or critical violations that no documented Streamlit exception covers."""
    return [v for v in violations if v.get("impact") in BLOCKING and not _excused(v)]


def describe(violations: list[dict]) -> str:
    """One line per violation with up to three of its nodes (for assertion messages)."""
    lines = []
    for v in violations:
        nodes = "; ".join(" ".join(n["target"]) for n in v["nodes"][:3])
        lines.append(f"{v['id']} ({v.get('impact')}, {len(v['nodes'])} nodes): {nodes}")
    return "\n".join(lines)
