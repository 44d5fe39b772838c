"""The import layers hold (docs/contracts.md), and the checker catches each kind of breach."""

from __future__ import annotations

from pathlib import Path

import pytest
from import_layers import check_module, check_tree

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_keeps_its_layers() -> None:
    violations = check_tree(ROOT)
    assert not violations, "\n".join(map(str, violations))


def test_every_package_is_checked() -> None:
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert packages == {"base", "models", "training", "records", "interop", "dashboard",
                        "kapcds", "benchmarks"}
    dashboard = {p.name for p in (ROOT / "dashboard").iterdir() if p.is_dir()
                 and not p.name.startswith((".", "_"))}
    assert dashboard == {"views", "services", "widgets", "charts"}


# The breaches the architecture issue listed, each as it used to be written.
BREACHES = [
    ("records/users.py", "from kapcds.config import SecuritySettings\n",
     "records may not import kapcds"),
    ("records/audit.py", "def f():\n    from kapcds.safety import csv_rows_text\n",
     "records may not import kapcds"),
    ("interop/report_context.py", "from dashboard.services import outcome_risk\n",
     "interop may not import dashboard"),
    ("interop/report_context.py", "from dashboard.alerts import session_alerts\n",
     "interop may not import dashboard"),
    ("models/registry.py",
     "def g():\n    from training.model_card import render_card_markdown\n",
     "models may not import training"),
    ("records/gaps.py", "from models.eligibility import _REQUIRED\n",
     "private name from another package"),
    ("interop/fhir_result.py", "from models.eligibility import _REQUIRED as R\n",
     "private name from another package"),
    ("base/settings.py", "from models.schema import FEATURES\n", "base may not import models"),
    ("models/predict.py", "import streamlit as st\n", "models may not use streamlit"),
    ("models/predict.py", "from sqlalchemy import select\n", "models may not use sqlalchemy"),
    ("dashboard/services/cohort.py", "import streamlit as st\n",
     "dashboard/services may not use streamlit"),
    ("dashboard/charts/risk.py", "from dashboard.services.workspace import Workspace\n",
     "dashboard/charts may not import dashboard/services"),
    ("dashboard/services/entry.py", "from dashboard.widgets.forms import field\n",
     "dashboard/services may not import dashboard/widgets"),
    ("dashboard/widgets/forms.py", "from dashboard.views import home\n",
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
    ("interop/fhir_store.py", "from records import repository\n"),
    ("dashboard/views/home.py", "from dashboard.widgets import components\n"),
    ("dashboard/widgets/forms.py", "from dashboard.services.form_errors import FormErrors\n"),
    ("models/explain.py", "from models.schema import FEATURES\n"),
    ("models/x.py", "from models.estimators import _private\n"),  # private inside a package
])
def test_allowed_imports_pass(path: str, source: str) -> None:
    assert check_module(Path(path), source) == []
