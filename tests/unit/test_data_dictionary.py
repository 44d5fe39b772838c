"""training.data_dictionary: the committed docs/data-dictionary.md never drifts from the schema."""

from __future__ import annotations

from pathlib import Path

from models.contract import schema
from training.data_dictionary import render_data_dictionary, write_data_dictionary

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"


def test_committed_dictionary_matches_the_schema() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render_data_dictionary(), (
        "docs/data-dictionary.md is stale: run `python -m training.data_dictionary`")


def test_every_feature_outcome_and_session_field_is_documented() -> None:
    text = render_data_dictionary()
    for f in schema.FEATURES:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{f.name}` |"))
        assert f.label in row and f.dtype in row
        assert (f.allowed_text() in row) or all(f"`{c}`" in row for c in f.categories)
    for group in {f.group for f in schema.FEATURES}:
        assert f"### {group.capitalize()}" in text
    for o in schema.OUTCOMES:
        assert f"| `{o.name}` | {o.label} | {o.kind} |" in text
    for s in schema.SESSION_FIELDS:
        assert f"| `{s.name}` | {s.label} |" in text
    for route in schema.ROUTES:  # each route's dose column and what it allows (HAZ-240)
        row = next(line for line in text.splitlines() if line.startswith(f"| `{route}` |"))
        assert f"`{schema.DOSE_FEATURE_BY_ROUTE[route]}`" in row
        if route in schema.ROUTE_DOSE_LIMITS:
            low, high = schema.ROUTE_DOSE_LIMITS[route]
            assert f"{low:g} to {high:g} mg/kg" in row
        else:
            assert "28, 56 or 84 mg per session" in row and "mg/kg" not in row


def test_feature_tables_follow_schema_group_order() -> None:
    text = render_data_dictionary()
    positions = [text.index(f"| `{f.name}` |") for f in schema.FEATURES]
    groups = [f.group for f in schema.FEATURES]
    by_position = [g for _, g in sorted(zip(positions, groups, strict=True))]
    # each group's rows are contiguous
    assert len(by_position) == len(groups)
    seen: list[str] = []
    for group in by_position:
        if not seen or seen[-1] != group:
            assert group not in seen, f"group {group} split across tables"
            seen.append(group)


def test_write_data_dictionary(tmp_path: Path) -> None:
    path = write_data_dictionary(tmp_path / "sub" / "dd.md")
    assert path.read_bytes() == render_data_dictionary().encode("utf-8")
    assert b"\r\n" not in path.read_bytes()
