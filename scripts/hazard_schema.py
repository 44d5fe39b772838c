"""The hazard files' schema: load and check ``docs/safety/hazards/HAZ-NNN.yaml`` and the
test ids their controls name (read with ``ast``; nothing is imported or run).

Why a checker: a hazard log whose controls name tests that were renamed or deleted claims
a safety argument nobody exercises any more (DCB0129 asks for evidence, not intent).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
HAZARDS = Path("docs/safety/hazards")
LOG_FILE = Path("docs/safety/hazard-log.md")
CASE_FILE = Path("docs/safety/safety-case.md")
CASE_START, CASE_END = "<!-- residual-risks:start -->", "<!-- residual-risks:end -->"

CATEGORIES = ("use-error", "clinical-logic", "data-import", "model", "security",
              "availability", "information")
CONTROL_KINDS = ("design", "test", "information")
RESIDUALS = ("low", "medium", "high")
STATUSES = ("open", "controlled", "accepted")
REQUIRED = ("id", "title", "category", "cause", "effect", "before", "after", "controls",
            "residual", "status")
ID_RULE = re.compile(r"^HAZ-\d{3}$")
TEST_ID = re.compile(r"^(tests/[\w/.-]+\.py)::(\w+)(?:::(\w+))?(?:\[.*\])?$")


@dataclass(frozen=True)
class Hazard:
    """One validated hazard file (``data`` as read) and where it came from."""

    path: Path
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def risk_after(self) -> int:
        return self.data["after"]["severity"] * self.data["after"]["likelihood"]

    @property
    def risk_before(self) -> int:
        return self.data["before"]["severity"] * self.data["before"]["likelihood"]

    def test_ids(self) -> list[str]:
        return [t for c in self.data["controls"] for t in c.get("tests") or []]


def residual_for(score: int) -> str:
    """The residual band of a severity × likelihood product (≤ 4 low, 5–9 medium, ≥ 10 high)."""
    return "low" if score <= 4 else "medium" if score <= 9 else "high"


def _scale_problems(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, dict) or set(value) != {"severity", "likelihood"}:
        return [f"{key}: must be {{severity: 1..5, likelihood: 1..5}}, got {value!r}"]
    return [f"{key}.{name}: must be an integer 1..5, got {number!r}"
            for name, number in value.items()
            if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 5]


def _control_problems(controls: Any, status: Any) -> list[str]:
    if not isinstance(controls, list) or (not controls and status != "open"):
        return ["controls: a list of at least one control (only an open hazard may have none)"]
    problems = []
    for number, control in enumerate(controls, start=1):
        where = f"controls[{number}]"
        if not isinstance(control, dict):
            problems.append(f"{where}: must be a mapping with kind, text, tests")
            continue
        if control.get("kind") not in CONTROL_KINDS:
            problems.append(f"{where}.kind: one of {', '.join(CONTROL_KINDS)}, got "
                            f"{control.get('kind')!r}")
        if not isinstance(control.get("text"), str) or not control["text"].strip():
            problems.append(f"{where}.text: a sentence saying what the control does")
        tests = control.get("tests")
        if not isinstance(tests, list) or not tests:
            problems.append(f"{where}.tests: at least one test id (a control with no test "
                            "is a claim, not a control)")
            continue
        problems += [f"{where}.tests: {t!r} is not tests/<path>.py::<test function>"
                     for t in tests if not isinstance(t, str) or not TEST_ID.match(t)]
    return problems


def schema_problems(data: Any, file_name: str) -> list[str]:
    """Everything wrong with one hazard file's content (empty list: valid)."""
    if not isinstance(data, dict):
        return ["the file must hold one YAML mapping"]
    problems = [f"{key}: required" for key in REQUIRED if key not in data]
    problems += [f"{key}: not a field of a hazard" for key in data if key not in REQUIRED]
    if problems:
        return problems
    if not ID_RULE.match(str(data["id"])):
        problems.append(f"id: must look like HAZ-001, got {data['id']!r}")
    elif f"{data['id']}.yaml" != file_name:
        problems.append(f"id: {data['id']} does not match the file name {file_name}")
    for key in ("title", "cause", "effect"):
        if not isinstance(data[key], str) or not data[key].strip():
            problems.append(f"{key}: a non-empty text")
    for key, allowed in (("category", CATEGORIES), ("residual", RESIDUALS),
                         ("status", STATUSES)):
        if data[key] not in allowed:
            problems.append(f"{key}: one of {', '.join(allowed)}, got {data[key]!r}")
    scale = _scale_problems(data, "before") + _scale_problems(data, "after")
    problems += scale
    if not scale and data["residual"] in RESIDUALS:
        score = data["after"]["severity"] * data["after"]["likelihood"]
        if data["residual"] != residual_for(score):
            problems.append(f"residual: {data['residual']} disagrees with after "
                            f"{data['after']['severity']}×{data['after']['likelihood']} = "
                            f"{score} ({residual_for(score)})")
    return problems + _control_problems(data["controls"], data["status"])


def load_hazards(root: Path = ROOT) -> tuple[list[Hazard], list[str]]:
    """Every hazard file under ``root``, and every problem found (file name first)."""
    hazards, problems, seen = [], [], {}
    for path in sorted((root / HAZARDS).glob("*")):
        if path.suffix != ".yaml":
            problems.append(f"{path.name}: only HAZ-NNN.yaml files belong in {HAZARDS}")
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            problems.append(f"{path.name}: not readable YAML ({error})")
            continue
        found = schema_problems(data, path.name)
        if found:
            problems += [f"{path.name}: {p}" for p in found]
            continue
        if data["id"] in seen:
            problems.append(f"{path.name}: id {data['id']} already used by {seen[data['id']]}")
            continue
        seen[data["id"]] = path.name
        hazards.append(Hazard(path, data))
    return hazards, problems


def _defined_tests(tree: ast.Module) -> set[str]:
    """``name`` for module-level functions, ``Class::name`` for methods of a class."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {f"{node.name}::{item.name}" for item in node.body
                      if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return names


def missing_test(test_id: str, root: Path = ROOT, cache: dict | None = None) -> str | None:
    """Why ``test_id`` names no test function under ``root`` (None: it does)."""
    match = TEST_ID.match(test_id)
    if not match:
        return f"{test_id}: not tests/<path>.py::<test function>"
    file, first, second = match.groups()
    name = f"{first}::{second}" if second else first
    if not name.split("::")[-1].startswith("test"):
        return f"{test_id}: {name} is not a test (pytest collects test* functions only)"
    cache = {} if cache is None else cache
    if file not in cache:
        path = root / file
        cache[file] = (_defined_tests(ast.parse(path.read_text(encoding="utf-8")))
                       if path.is_file() else None)
    if cache[file] is None:
        return f"{test_id}: no file {file}"
    if name not in cache[file]:
        return f"{test_id}: no test {name} in {file}"
    return None


def missing_tests(hazards: list[Hazard], root: Path = ROOT) -> list[str]:
    """Every named test that does not exist, as ``HAZ-NNN: reason``."""
    cache: dict[str, set[str] | None] = {}
    return [f"{h.id}: {problem}" for h in hazards for t in h.test_ids()
            if (problem := missing_test(t, root, cache))]
