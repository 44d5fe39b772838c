"""Issue 31: before the cohort table is built, Candidate review pages the store itself and
predicts only the rows it shows. Those rows must be the rows the finished table holds, and
the store's search must find the patients the table's search finds."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.services.patients.listing import PAGE_SIZE, cohort_table, find_patients
from dashboard.services.patients.roster import filters_need_cohort, store_page
from dashboard.services.workspace import Workspace


def test_a_page_holds_the_rows_of_the_finished_table(workspace: Workspace) -> None:
    full = cohort_table(workspace)
    page = store_page(workspace, "", 2)
    assert page.total == page.matching == len(full)
    expected = full.iloc[PAGE_SIZE:2 * PAGE_SIZE]
    assert page.ids == list(expected.index)
    shown = page.rows.loc[page.ids]
    columns = [c for c in expected.columns if c.endswith(("_probability", "_interval_lo",
                                                          "_interval_hi"))]
    assert columns
    pd.testing.assert_frame_equal(shown[columns], expected[columns], check_exact=True)
    assert list(shown["eligibility_status"]) == list(expected["eligibility_status"])
    assert list(shown["ood_overall"]) == list(expected["ood_overall"])


@pytest.mark.parametrize("search", ["KAP-0001", "kap-0001", "  KAP-00007 ", "zzz-nobody",
                                    "%", "_"])
def test_the_store_search_matches_the_table_search(workspace: Workspace, search: str) -> None:
    full = cohort_table(workspace)
    expected = list(find_patients(full, search).index)
    page = store_page(workspace, search, 1, size=10_000)
    assert page.matching == len(expected)
    assert page.ids == expected


def test_a_name_is_searched_too(workspace: Workspace) -> None:
    full = cohort_table(workspace)
    surname = str(full["name"].iloc[3]).split()[-1][:4].upper()
    page = store_page(workspace, surname, 1, size=10_000)
    assert page.ids == list(find_patients(full, surname).index) and page.ids


def test_a_kept_patient_off_the_page_is_reachable_if_it_matches(workspace: Workspace) -> None:
    ids = list(cohort_table(workspace).index)
    far = ids[-1]
    page = store_page(workspace, "", 1, kept=[far, None, "KAP-NOBODY"])
    assert far not in page.ids and far in page.reachable and far in page.rows.index
    assert "KAP-NOBODY" not in page.reachable
    other = store_page(workspace, ids[0], 1, kept=[far])  # the search excludes it
    assert far not in other.reachable


def test_filters_that_need_every_patient_list_nothing_yet(workspace: Workspace) -> None:
    assert filters_need_cohort(["eligible"], None, 0.0)
    assert filters_need_cohort([], "response", 0.3)
    assert not filters_need_cohort([], "response", 0.0)
    page = store_page(workspace, "", 1, kept=["KAP-00001"], empty=True)
    assert page.matching == 0 and page.ids == [] and not len(page.reachable)
    assert list(page.listed.columns[:3]) == ["Patient", "Name", "Eligibility"]
