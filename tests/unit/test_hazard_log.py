"""The hazard log (docs/safety/) is data that must stay true: every file follows the schema,
every control names tests that exist, and the rendered Markdown matches the files.

The negative tests build a small hazard folder in a temporary root, so each rule is shown
to catch what it is for (a test named that does not exist, a control with no test, a
residual that disagrees with severity × likelihood, stale Markdown, …)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scripts import hazard_log
from scripts.hazard_render import render_log
from scripts.hazard_schema import (
    HAZARDS,
    LOG_FILE,
    ROOT,
    load_hazards,
    missing_test,
    missing_tests,
    residual_for,
)

VALID = {
    "id": "HAZ-901", "title": "A stand-in hazard", "category": "use-error",
    "cause": "A cause.", "effect": "An effect on the patient.",
    "before": {"severity": 3, "likelihood": 4}, "after": {"severity": 3, "likelihood": 1},
    "controls": [{"kind": "design", "text": "A control.",
                  "tests": ["tests/unit/test_stand_in.py::test_real"]}],
    "residual": "low", "status": "controlled",
}
STAND_IN_TESTS = '''
import pytest

def test_real():
    assert True

@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert n

class TestGroup:
    def test_method(self):
        assert True

def helper():
    return 1
'''


def _root(tmp_path: Path, *hazards: dict, name: str | None = None) -> Path:
    """A project root holding the stand-in test module and ``hazards`` as YAML files."""
    (tmp_path / "tests/unit").mkdir(parents=True)
    (tmp_path / "tests/unit/test_stand_in.py").write_text(STAND_IN_TESTS)
    folder = tmp_path / HAZARDS
    folder.mkdir(parents=True)
    for data in hazards:
        (folder / (name or f"{data['id']}.yaml")).write_text(yaml.safe_dump(data))
    return tmp_path


def _problems(tmp_path: Path, data: dict, name: str | None = None) -> list[str]:
    hazards, problems = load_hazards(_root(tmp_path, data, name=name))
    return problems + missing_tests(hazards, tmp_path)


# --- the real log ---------------------------------------------------------------------------

def test_every_hazard_file_follows_the_schema() -> None:
    hazards, problems = load_hazards(ROOT)
    assert problems == []
    assert len(hazards) >= 20


def test_every_named_test_exists() -> None:
    hazards, _ = load_hazards(ROOT)
    assert missing_tests(hazards, ROOT) == []


def test_every_control_names_a_test() -> None:
    hazards, _ = load_hazards(ROOT)
    bare = [(h.id, c["text"]) for h in hazards for c in h.data["controls"] if not c["tests"]]
    assert bare == []


def test_rendered_markdown_is_up_to_date() -> None:
    hazards, _ = load_hazards(ROOT)
    stale = hazard_log.stale_files(ROOT, hazards)
    assert stale == [], "run: python -m scripts.hazard_log"


def test_the_log_lists_every_hazard_sorted_by_residual_risk() -> None:
    hazards, _ = load_hazards(ROOT)
    text = (ROOT / LOG_FILE).read_text(encoding="utf-8")
    rows = [line.split("|")[6].strip() for line in text.splitlines()
            if line.startswith("| [HAZ-")]
    assert len(rows) == len(hazards)
    rank = {"high": 0, "medium": 1, "low": 2}
    assert [rank[r] for r in rows] == sorted(rank[r] for r in rows)


# --- each rule catches what it is for ------------------------------------------------------

def test_a_valid_hazard_passes(tmp_path: Path) -> None:
    assert _problems(tmp_path, VALID) == []


def test_a_missing_test_is_caught(tmp_path: Path) -> None:
    data = {**VALID, "controls": [{**VALID["controls"][0],
                                   "tests": ["tests/unit/test_stand_in.py::test_gone"]}]}
    assert _problems(tmp_path, data) == [
        "HAZ-901: tests/unit/test_stand_in.py::test_gone: no test test_gone in "
        "tests/unit/test_stand_in.py"]


def test_a_missing_test_file_is_caught(tmp_path: Path) -> None:
    data = {**VALID, "controls": [{**VALID["controls"][0],
                                   "tests": ["tests/unit/test_nowhere.py::test_real"]}]}
    assert _problems(tmp_path, data) == [
        "HAZ-901: tests/unit/test_nowhere.py::test_real: no file tests/unit/test_nowhere.py"]


def test_parametrised_and_class_tests_are_found(tmp_path: Path) -> None:
    _root(tmp_path)
    for test_id in ("tests/unit/test_stand_in.py::test_param",
                    "tests/unit/test_stand_in.py::test_param[1]",
                    "tests/unit/test_stand_in.py::TestGroup::test_method"):
        assert missing_test(test_id, tmp_path) is None, test_id
    assert missing_test("tests/unit/test_stand_in.py::test_method", tmp_path)
    assert missing_test("tests/unit/test_stand_in.py::TestGroup::test_real", tmp_path)
    assert "not a test" in missing_test("tests/unit/test_stand_in.py::helper", tmp_path)


@pytest.mark.parametrize("tests", [[], None])
def test_a_control_without_a_test_is_caught(tmp_path: Path, tests) -> None:
    data = {**VALID, "controls": [{"kind": "design", "text": "A control.", "tests": tests}]}
    problems = _problems(tmp_path, data)
    assert len(problems) == 1 and "controls[1].tests: at least one test id" in problems[0]


def test_a_controlled_hazard_without_controls_is_caught(tmp_path: Path) -> None:
    assert "controls: a list of at least one" in _problems(tmp_path, {**VALID, "controls": []})[0]


@pytest.mark.parametrize(("change", "expected"), [
    ({"category": "weather"}, "category: one of"),
    ({"status": "done"}, "status: one of"),
    ({"residual": "none"}, "residual: one of"),
    ({"after": {"severity": 6, "likelihood": 1}}, "after.severity: must be an integer 1..5"),
    ({"before": {"severity": 3}}, "before: must be {severity"),
    ({"residual": "medium"}, "residual: medium disagrees with after 3×1 = 3 (low)"),
    ({"id": "HAZ-1"}, "id: must look like HAZ-001"),
    ({"title": ""}, "title: a non-empty text"),
    ({"owner": "me"}, "owner: not a field of a hazard"),
    ({"controls": [{"kind": "hope", "text": "x", "tests": ["tests/unit/test_stand_in.py::"
                                                          "test_real"]}]}, "kind: one of"),
    ({"controls": [{"kind": "test", "text": "x", "tests": ["test_real"]}]},
     "is not tests/<path>.py::<test function>"),
])
def test_schema_breaks_are_caught(tmp_path: Path, change: dict, expected: str) -> None:
    problems = _problems(tmp_path, {**VALID, **change})
    assert problems and expected in problems[0], problems


def test_a_missing_field_is_caught(tmp_path: Path) -> None:
    data = {k: v for k, v in VALID.items() if k != "effect"}
    assert _problems(tmp_path, data) == ["HAZ-901.yaml: effect: required"]


def test_id_must_match_the_file_name(tmp_path: Path) -> None:
    problems = _problems(tmp_path, VALID, name="HAZ-902.yaml")
    assert problems == ["HAZ-902.yaml: id: HAZ-901 does not match the file name HAZ-902.yaml"]


def test_unreadable_yaml_and_stray_files_are_caught(tmp_path: Path) -> None:
    root = _root(tmp_path, VALID)
    (root / HAZARDS / "HAZ-903.yaml").write_text("id: [unclosed\n")
    (root / HAZARDS / "notes.txt").write_text("x")
    _, problems = load_hazards(root)
    assert [p.split(":")[0] for p in problems] == ["HAZ-903.yaml", "notes.txt"]


@pytest.mark.parametrize(("score", "band"), [(1, "low"), (4, "low"), (5, "medium"),
                                             (9, "medium"), (10, "high"), (25, "high")])
def test_residual_bands(score: int, band: str) -> None:
    assert residual_for(score) == band


def test_stale_markdown_is_caught_and_rewritten(tmp_path: Path) -> None:
    root = _root(tmp_path, VALID)
    assert hazard_log.main(["--root", str(root), "--check"]) == 1  # nothing rendered yet
    assert hazard_log.main(["--root", str(root)]) == 0
    assert hazard_log.main(["--root", str(root), "--check"]) == 0
    changed = {**VALID, "title": "A renamed hazard"}
    (root / HAZARDS / "HAZ-901.yaml").write_text(yaml.safe_dump(changed))
    assert hazard_log.main(["--root", str(root), "--check"]) == 1


def test_check_fails_on_a_missing_test(tmp_path: Path) -> None:
    data = {**VALID, "controls": [{**VALID["controls"][0],
                                   "tests": ["tests/unit/test_stand_in.py::test_gone"]}]}
    root = _root(tmp_path, data)
    assert hazard_log.main(["--root", str(root)]) == 1
    assert not (root / LOG_FILE).exists()  # nothing rendered from a broken log


def test_rendering_orders_by_residual_then_id(tmp_path: Path) -> None:
    high = {**VALID, "id": "HAZ-905", "after": {"severity": 5, "likelihood": 2},
            "residual": "high"}
    other_low = {**VALID, "id": "HAZ-900"}
    hazards, problems = load_hazards(_root(tmp_path, VALID, high, other_low))
    assert problems == []
    text = render_log(hazards)
    order = [line.split("]")[0][3:] for line in text.splitlines() if line.startswith("| [HAZ")]
    assert order == ["HAZ-905", "HAZ-900", "HAZ-901"]
    assert "`tests/unit/test_stand_in.py::test_real`" in text
