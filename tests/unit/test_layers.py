"""The import layers hold (docs/contracts.md), and the checker catches each kind of breach."""

from __future__ import annotations

from pathlib import Path

import pytest
from import_layers import (
    MAX_MODULES_PER_FOLDER,
    check_module,
    check_tree,
    import_circles,
    private_cli_names,
    wide_folders,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_keeps_its_layers() -> None:
    violations = check_tree(ROOT)
    assert not violations, "\n".join(map(str, violations))


def test_every_package_is_checked() -> None:
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert packages == {"base", "models", "training", "records", "interop", "dashboard",
                        "kapcds", "benchmarks"}
    dashboard = {p.name for p in (ROOT / "dashboard").iterdir() if p.is_dir()
                 and not p.name.startswith((".", "_")) and any(p.glob("*.py"))}
    assert dashboard == {"views", "services", "widgets", "charts"}


# The breaches the architecture issue listed, each as it used to be written.
BREACHES = [
    ("records/security/users.py", "from kapcds.config import SecuritySettings\n",
     "records may not import kapcds"),
    ("records/audit/trail.py", "def f():\n    from kapcds.safety import csv_rows_text\n",
     "records may not import kapcds"),
    ("interop/reports/context.py", "from dashboard.services import outcome_risk\n",
     "interop may not import dashboard"),
    ("interop/reports/context.py", "from dashboard.alerts import session_alerts\n",
     "interop may not import dashboard"),
    ("models/store/registry.py",
     "def g():\n    from training.model_card import render_card_markdown\n",
     "models may not import training"),
    ("records/gaps.py", "from models.clinical.eligibility import _REQUIRED\n",
     "private name from another package"),
    ("interop/fhir/importer/result.py", "from models.clinical.eligibility import _REQUIRED as R\n",
     "private name from another package"),
    ("base/settings.py", "from models.contract.schema import FEATURES\n",
     "base may not import models"),
    ("models/inference/predict.py", "import streamlit as st\n", "models may not use streamlit"),
    ("models/inference/predict.py", "from sqlalchemy import select\n",
     "models may not use sqlalchemy"),
    ("dashboard/services/cohort/overview.py", "import streamlit as st\n",
     "dashboard/services may not use streamlit"),
    ("dashboard/charts/risk.py", "from dashboard.services.workspace import Workspace\n",
     "dashboard/charts may not import dashboard/services"),
    ("dashboard/services/entry/writes.py", "from dashboard.widgets.entry.forms import field\n",
     "dashboard/services may not import dashboard/widgets"),
    ("dashboard/widgets/entry/forms.py", "from dashboard.views import home\n",
     "dashboard/widgets may not import dashboard/views"),
    ("dashboard/widgets/resources.py", "from kapcds.commands import main\n",
     "dashboard may not import kapcds"),
    ("kapcds/commands.py", "from dashboard.widgets import resources\n",
     "kapcds may not import dashboard"),
]


@pytest.mark.parametrize(("path", "source", "rule"), BREACHES)
def test_each_kind_of_breach_is_caught(path: str, source: str, rule: str) -> None:
    rules = [v.rule for v in check_module(Path(path), source)]
    assert rule in rules


@pytest.mark.parametrize(("path", "source"), [
    ("records/db.py", "from base.settings import default_database_url\n"),
    ("interop/fhir/importer/store.py", "from records import repository\n"),
    ("dashboard/views/home.py", "from dashboard.widgets import components\n"),
    ("dashboard/widgets/entry/forms.py",
     "from dashboard.services.entry.form_errors import FormErrors\n"),
    ("models/inference/explain.py", "from models.contract.schema import FEATURES\n"),
    # private inside a package
    ("models/x.py", "from models.learners.estimators import _private\n"),
])
def test_allowed_imports_pass(path: str, source: str) -> None:
    assert check_module(Path(path), source) == []


def test_no_two_files_import_each_other() -> None:
    """File-level import circles (lazy and TYPE_CHECKING imports count too)."""
    assert import_circles(ROOT) == []


def test_no_library_folder_is_wider_than_twenty_modules() -> None:
    assert wide_folders(ROOT) == {}, f"more than {MAX_MODULES_PER_FOLDER} modules side by side"


def test_no_private_name_crosses_a_module_in_the_cli() -> None:
    assert private_cli_names(ROOT) == []


def test_every_room_names_its_public_api() -> None:
    """Each subpackage's ``__init__`` lists exactly the modules and rooms beside it."""
    for init in sorted(ROOT.glob("*/**/__init__.py")):
        folder = init.parent
        if folder.parts[len(ROOT.parts)] not in ("models", "interop", "records", "training") \
                or "migrations" in folder.parts or folder.parent == ROOT:
            continue
        names = {p.stem for p in folder.glob("*.py") if p.name != "__init__.py"}
        names |= {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}
        namespace: dict = {}
        exec(compile(init.read_text(encoding="utf-8"), str(init), "exec"), namespace)  # noqa: S102
        assert set(namespace.get("__all__", ())) == names, init


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return tmp_path


def test_a_circle_between_two_files_is_caught(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"models/__init__.py": "", "models/a.py": "from models.b import x\n",
                            "models/b.py": "def f():\n    from models import a\n"})
    assert import_circles(root) == [["models/a.py", "models/b.py"]]


def test_a_longer_circle_is_caught(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"records/__init__.py": "",
                            "records/a.py": "import records.b\n",
                            "records/b.py": "from records.c import y\n",
                            "records/c.py": "from records.a import z\n"})
    assert import_circles(root) == [["records/a.py", "records/b.py", "records/c.py"]]


def test_a_wide_folder_is_caught(tmp_path: Path) -> None:
    files = {"training/__init__.py": ""}
    files |= {f"training/m{i}.py": "" for i in range(MAX_MODULES_PER_FOLDER + 1)}
    assert wide_folders(_tree(tmp_path, files)) == {"training": MAX_MODULES_PER_FOLDER + 1}


def test_a_private_cli_name_is_caught(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"kapcds/__init__.py": "",
                            "kapcds/a.py": "from kapcds.b import _hidden\n",
                            "kapcds/c.py": "from kapcds import b\nb._other()\n"})
    assert sorted(v.imported for v in private_cli_names(root)) == ["b._other", "kapcds.b._hidden"]


def test_test_file_names_are_unique() -> None:
    """pytest imports test modules by basename (rootdir mode, no packages): two files named
    alike in different folders stop the whole run at collection."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")
             if "node_modules" not in p.parts]
    assert sorted({n for n in names if names.count(n) > 1}) == []
