"""The dashboard never renders user data as HTML: `unsafe_allow_html`, `st.html` and custom
HTML components may only ever be given constant text (today: not used at all)."""

from __future__ import annotations

import ast
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
HTML_CALLS = {"html", "iframe"}  # st.html, components.v1.html/iframe


def _constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
            node.func, "id", "")
        unsafe = any(k.arg == "unsafe_allow_html" and not (
            isinstance(k.value, ast.Constant) and k.value.value is False) for k in node.keywords)
        if (unsafe or name in HTML_CALLS) and not all(_constant(a) for a in node.args):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_html_rendering_of_non_constant_text() -> None:
    files = sorted(DASHBOARD.rglob("*.py"))
    assert len(files) > 10
    assert [p for f in files for p in _problems(f)] == []


def test_the_checker_catches_user_data_in_html(tmp_path: Path) -> None:
    sample = tmp_path / "page.py"
    sample.write_text("import streamlit as st\nname = input()\n"
                      "st.markdown(f'<b>{name}</b>', unsafe_allow_html=True)\n"
                      "st.markdown('<hr>', unsafe_allow_html=True)\nst.html(name)\n")
    assert _problems(sample) == ["page.py:3", "page.py:5"]
